-- A read-only scratch buffer the plugin writes into (the transcript, a worker, a task, the log),
-- and the window that shows it. Edits append at the end; windows whose cursor was on the last
-- line follow the new text, others keep their place.
local M = {}

local View = {}
View.__index = View

-- opts: name (buffer name), filetype, config (layout, size), on_buffer(buf) to add keymaps.
function M.new(opts)
  return setmetatable({ opts = opts, buf = nil, empty = true }, View)
end

function View:buffer()
  if self.buf and vim.api.nvim_buf_is_valid(self.buf) then
    return self.buf
  end
  local buf = vim.api.nvim_create_buf(false, true)
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].bufhidden = "hide"
  vim.bo[buf].swapfile = false
  vim.bo[buf].undolevels = -1
  vim.bo[buf].modifiable = false
  -- A name left by a wiped buffer of an earlier session would clash: fall back to the number.
  if not pcall(vim.api.nvim_buf_set_name, buf, self.opts.name) then
    pcall(vim.api.nvim_buf_set_name, buf, self.opts.name .. "#" .. buf)
  end
  vim.bo[buf].filetype = self.opts.filetype or "coco"
  self.buf, self.empty = buf, true
  if self.opts.on_buffer then
    self.opts.on_buffer(buf)
  end
  return buf
end

-- Applies the reducer's edits: {"lines", {...}} appends lines, {"text", s} extends the last line.
function View:apply(edits)
  if #edits == 0 then
    return
  end
  local buf = self:buffer()
  local last = vim.api.nvim_buf_line_count(buf)
  local follow = {}
  for _, win in ipairs(vim.fn.win_findbuf(buf)) do
    if vim.api.nvim_win_get_cursor(win)[1] >= last then
      follow[#follow + 1] = win
    end
  end
  vim.bo[buf].modifiable = true
  for _, edit in ipairs(edits) do
    local kind, value = edit[1], edit[2]
    if kind == "lines" then
      vim.api.nvim_buf_set_lines(buf, self.empty and 0 or -1, -1, false, value)
    elseif kind == "text" then
      local n = vim.api.nvim_buf_line_count(buf)
      local tail = vim.api.nvim_buf_get_lines(buf, n - 1, n, false)[1] or ""
      vim.api.nvim_buf_set_text(buf, n - 1, #tail, n - 1, #tail, vim.split(value, "\n", { plain = true }))
    end
    self.empty = false
  end
  vim.bo[buf].modifiable = false
  local n = vim.api.nvim_buf_line_count(buf)
  for _, win in ipairs(follow) do
    if vim.api.nvim_win_is_valid(win) then
      vim.api.nvim_win_set_cursor(win, { n, 0 })
    end
  end
end

-- Replaces the whole content.
function View:set_lines(lines)
  local buf = self:buffer()
  vim.bo[buf].modifiable = true
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  self.empty = #lines == 0
end

function View:lines()
  if not (self.buf and vim.api.nvim_buf_is_valid(self.buf)) then
    return {}
  end
  return vim.api.nvim_buf_get_lines(self.buf, 0, -1, false)
end

-- The window showing the buffer in the current tab page, if any.
function View:window()
  if not (self.buf and vim.api.nvim_buf_is_valid(self.buf)) then
    return nil
  end
  for _, win in ipairs(vim.api.nvim_tabpage_list_wins(0)) do
    if vim.api.nvim_win_get_buf(win) == self.buf then
      return win
    end
  end
  return nil
end

function View:visible()
  return self:window() ~= nil
end

-- Shows the buffer (config.layout), focused or not; returns the window.
function View:open(focus)
  local buf = self:buffer()
  local win = self:window()
  local config = self.opts.config
  if not win then
    local prev = vim.api.nvim_get_current_win()
    local size = config.size and tostring(config.size) or ""
    if config.layout == "tab" then
      vim.cmd("tabnew")
      focus = true -- a background tab shows nothing
    elseif config.layout == "split" then
      vim.cmd("botright " .. size .. "split")
    elseif config.layout == "vsplit" then
      vim.cmd("botright " .. size .. "vsplit")
    end
    win = vim.api.nvim_get_current_win()
    vim.api.nvim_win_set_buf(win, buf)
    vim.wo[win].wrap = true
    vim.wo[win].linebreak = true
    vim.wo[win].number = false
    vim.wo[win].relativenumber = false
    vim.api.nvim_win_set_cursor(win, { vim.api.nvim_buf_line_count(buf), 0 })
    if not focus and vim.api.nvim_win_is_valid(prev) then
      vim.api.nvim_set_current_win(prev)
    end
  elseif focus then
    vim.api.nvim_set_current_win(win)
  end
  return win
end

function View:close()
  local win = self:window()
  if win and #vim.api.nvim_tabpage_list_wins(0) > 1 then
    vim.api.nvim_win_close(win, false)
  end
end

return M
