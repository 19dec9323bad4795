-- The user commands. Created by plugin/coco.lua (when the plugin loads) and again by setup();
-- creating them twice is harmless.
local M = {}

-- The prompt for :'<,'>CocoPrompt: the question, then the selected lines with file and line context.
function M.selection_prompt(question, buf, line1, line2)
  local name = vim.api.nvim_buf_get_name(buf)
  local file = name ~= "" and vim.fn.fnamemodify(name, ":.") or "[No Name]"
  local lines = vim.api.nvim_buf_get_lines(buf, line1 - 1, line2, false)
  local where = line1 == line2 and ("line %d"):format(line1) or ("lines %d-%d"):format(line1, line2)
  local out = {}
  if question and question ~= "" then
    out[#out + 1] = question
    out[#out + 1] = ""
  end
  out[#out + 1] = ("From `%s`, %s:"):format(file, where)
  out[#out + 1] = "```" .. (vim.bo[buf].filetype or "")
  vim.list_extend(out, lines)
  out[#out + 1] = "```"
  return table.concat(out, "\n")
end

local function coco()
  return require("coco")
end

function M.create()
  local function cmd(name, fn, opts)
    vim.api.nvim_create_user_command(name, fn, opts or {})
  end
  cmd("CocoPrompt", function(a)
    if a.range > 0 then
      local buf = vim.api.nvim_get_current_buf()
      local function send(question)
        coco().prompt(M.selection_prompt(question, buf, a.line1, a.line2))
      end
      if a.args ~= "" then
        return send(a.args)
      end
      vim.ui.input({ prompt = "Coco (about the selection): " }, function(q)
        if q ~= nil then
          send(q)
        end
      end)
      return
    end
    coco().prompt(a.args)
  end, { nargs = "*", range = true, desc = "Send a prompt to Codex (with a range: the selected lines too)" })
  cmd("CocoInterrupt", function()
    coco().interrupt()
  end, { desc = "Interrupt Codex's running turn" })
  cmd("CocoNewThread", function()
    coco().new_thread()
  end, { desc = "Start a new conversation thread" })
  cmd("CocoExec", function(a)
    coco().exec(a.args)
  end, { nargs = "+", desc = "Run an exec worker (codex exec) with this prompt" })
  cmd("CocoTasks", function()
    coco().tasks()
  end, { desc = "List task directories; open one as a transcript" })
  cmd("CocoGates", function()
    coco().gates()
  end, { desc = "Open approvals" })
  cmd("CocoStop", function()
    coco().stop()
  end, { desc = "Stop the bridge" })
  cmd("CocoLog", function()
    coco().log()
  end, { desc = "The bridge's stderr and the plugin's log" })
  cmd("CocoOpen", function()
    coco().open(true)
  end, { desc = "Show the transcript" })
end

return M
