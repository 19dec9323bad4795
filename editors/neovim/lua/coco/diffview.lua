-- A proposed file change in a native vimdiff: a new tab with the file as it is now on the left and
-- the proposed content on the right (read-only). `q` closes the tab and returns to the popup.
local transcript = require("coco.transcript")

local M = {}

local function text_lines(text)
  local lines = vim.split(text or "", "\n", { plain = true })
  if lines[#lines] == "" then
    table.remove(lines)
  end
  return lines
end

-- Applies a unified diff to a list of lines. Hunks are applied by their line numbers (context
-- lines are trusted, not checked): enough to preview what codex proposes.
function M.apply_unified_diff(old_lines, diff)
  local out, pos, in_hunk = {}, 1, false
  for _, line in ipairs(text_lines(diff)) do
    local start = line:match("^@@ %-(%d+)")
    if start then
      start = math.max(tonumber(start), 1)
      -- "@@ -0,0 +1 @@" (an empty file) and "@@ -3,2 ..." both start copying before that line.
      while pos < start and old_lines[pos] ~= nil do
        out[#out + 1] = old_lines[pos]
        pos = pos + 1
      end
      in_hunk = true
    elseif in_hunk then
      local mark, rest = line:sub(1, 1), line:sub(2)
      if mark == "+" then
        out[#out + 1] = rest
      elseif mark == "-" then
        pos = pos + 1
      elseif mark == " " or line == "" then
        out[#out + 1] = old_lines[pos] or rest
        pos = pos + 1
      end -- "\ No newline at end of file" and anything else: nothing to apply
    end
  end
  while old_lines[pos] ~= nil do
    out[#out + 1] = old_lines[pos]
    pos = pos + 1
  end
  return out
end

-- The content after the change: newText when the bridge sends it, else rebuilt from the diff.
function M.proposed_lines(change, current_lines)
  if change.newText ~= nil then
    return text_lines(change.newText)
  end
  local kind = transcript.change_kind(change)
  if kind == "delete" then
    return {}
  end
  local diff = change.diff or ""
  if kind == "add" and not diff:find("\n@@", 1, true) and not diff:match("^@@") then
    return text_lines(diff) -- codex sends the whole new file as the "diff" of an add
  end
  return M.apply_unified_diff(kind == "add" and {} or current_lines, diff)
end

local function scratch(name, lines, filetype)
  local buf = vim.api.nvim_get_current_buf()
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].bufhidden = "wipe"
  vim.bo[buf].swapfile = false
  pcall(vim.api.nvim_buf_set_name, buf, name)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  if filetype and filetype ~= "" then
    vim.bo[buf].filetype = filetype
  end
  return buf
end

-- Opens the diff tab. opts.on_close() runs when it closes. Returns {close = fn} or nil.
function M.open(change, opts)
  opts = opts or {}
  if change.textsOmitted and change.newText == nil then
    vim.notify("Coco: this change is too large for a diff view", vim.log.levels.WARN)
    return nil
  end
  local path = change.path or "?"
  local exists = vim.fn.filereadable(path) == 1
  local current = exists and vim.fn.readfile(path) or text_lines(change.oldText)
  local proposed = M.proposed_lines(change, current)

  vim.cmd("tabnew")
  local tab = vim.api.nvim_get_current_tabpage()
  local left_win = vim.api.nvim_get_current_win()
  vim.bo.bufhidden = "wipe" -- the tab's empty buffer, replaced just below
  if exists then
    vim.cmd("edit " .. vim.fn.fnameescape(path))
  else
    scratch("coco://current/" .. vim.fn.fnamemodify(path, ":~:."), current)
  end
  local filetype = vim.bo.filetype
  vim.cmd("diffthis")
  vim.cmd("rightbelow vnew")
  local right_win = vim.api.nvim_get_current_win()
  local right_buf = scratch("coco://proposed/" .. vim.fn.fnamemodify(path, ":~:."), proposed, filetype)
  vim.cmd("diffthis")

  local closed = false
  local handle = {}
  function handle.close()
    if closed then
      return
    end
    closed = true
    if vim.api.nvim_tabpage_is_valid(tab) then
      for _, win in ipairs({ left_win, right_win }) do
        if vim.api.nvim_win_is_valid(win) then
          vim.api.nvim_win_call(win, function()
            vim.cmd("diffoff")
          end)
        end
      end
      if #vim.api.nvim_list_tabpages() > 1 then
        vim.cmd("tabclose " .. vim.api.nvim_tabpage_get_number(tab))
      end
    end
    if opts.on_close then
      opts.on_close()
    end
  end
  vim.keymap.set("n", "q", handle.close, { buffer = right_buf, nowait = true, desc = "Coco: close the diff view" })
  if not exists then
    vim.keymap.set("n", "q", handle.close, { buffer = vim.api.nvim_win_get_buf(left_win), nowait = true })
  end
  -- Closing the proposed side any other way (:q, :tabclose) ends the review too.
  vim.api.nvim_create_autocmd("BufWipeout", {
    buffer = right_buf,
    once = true,
    callback = function()
      vim.schedule(handle.close)
    end,
  })
  return handle
end

return M
