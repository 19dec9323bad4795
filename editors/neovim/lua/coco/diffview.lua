-- A proposed file change in a native vimdiff: a new tab with the file as it is now on the left and
-- the proposed content on the right (read-only). `q` closes the tab and returns to the popup.
local M = {}

local function text_lines(text)
  local lines = vim.split(text or "", "\n", { plain = true })
  if lines[#lines] == "" then
    table.remove(lines)
  end
  return lines
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
-- The bridge gives every change its texts: oldText (the file on disk when codex asked; null for an
-- add) and newText (the content after the change; null for a delete), unless textsOmitted.
function M.open(change, opts)
  opts = opts or {}
  if change.textsOmitted then
    vim.notify("Coco: no diff view for this change: " .. (change.omittedReason or "the bridge left its texts out"),
      vim.log.levels.WARN)
    return nil
  end
  local path = change.path or "?"
  -- The real file, when there is one: its buffer, with its filetype; the user may read around.
  local exists = vim.fn.filereadable(path) == 1

  vim.cmd("tabnew")
  local tab = vim.api.nvim_get_current_tabpage()
  local left_win = vim.api.nvim_get_current_win()
  vim.bo.bufhidden = "wipe" -- the tab's empty buffer, replaced just below
  if exists then
    vim.cmd("edit " .. vim.fn.fnameescape(path))
  else
    scratch("coco://current/" .. vim.fn.fnamemodify(path, ":~:."), text_lines(change.oldText))
  end
  local filetype = vim.bo.filetype
  vim.cmd("diffthis")
  vim.cmd("rightbelow vnew")
  local right_win = vim.api.nvim_get_current_win()
  local target = vim.fn.fnamemodify(change.movePath or path, ":~:.")
  local right_buf = scratch("coco://proposed/" .. target, text_lines(change.newText), filetype)
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
