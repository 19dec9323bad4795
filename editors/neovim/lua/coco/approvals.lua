-- Approval gates as popups: one floating window per gate (keyed by gateId, so a gate asked again
-- replaces its popup), one key per option in the bridge's order, feedback, a diff view for file
-- changes; or vim.ui.select, so picker plugins take over. Whatever resolves a gate (our answer, a
-- policy, the task directory...), the bridge reports it once with coco/approval/resolved.
local transcript = require("coco.transcript")

local M = {}

local MAX_DIGIT_OPTIONS = 9

local function text_lines(text)
  local lines = vim.split(text or "", "\n", { plain = true })
  if #lines > 1 and lines[#lines] == "" then
    table.remove(lines)
  end
  return lines
end

-- A path as the user thinks of it: relative to the working directory, or to ~.
function M.display_path(path)
  if not path then
    return "?"
  end
  return vim.fn.fnamemodify(path, ":~:.")
end

-- The popup's lines for a prompt; option_line is the line number of "[1] ...". Pure, so the
-- layout is unit tested.
function M.popup_lines(prompt)
  local lines = { prompt.title or "Codex asks for approval", "" }
  local kind = prompt.kind
  if kind == "command" then
    lines[#lines + 1] = "$ " .. (prompt.command or "?")
    if prompt.cwd then
      lines[#lines + 1] = "cwd: " .. prompt.cwd
    end
    if prompt.reason then
      lines[#lines + 1] = "reason: " .. (prompt.reason:gsub("\n", " "))
    end
  elseif kind == "fileChange" then
    if prompt.reason then
      lines[#lines + 1] = "reason: " .. (prompt.reason:gsub("\n", " "))
      lines[#lines + 1] = ""
    end
    for _, change in ipairs(prompt.changes or {}) do
      local head = ("%s (%s)"):format(M.display_path(change.path), transcript.change_kind(change))
      if change.movePath then
        head = head .. " → " .. M.display_path(change.movePath)
      end
      lines[#lines + 1] = head
      vim.list_extend(lines, transcript.change_diff_lines(change))
      if change.textsOmitted then
        lines[#lines + 1] = "(no diff view: " .. (change.omittedReason or "the texts were left out") .. ")"
      end
    end
  else
    vim.list_extend(lines, text_lines(prompt.detail))
  end
  lines[#lines + 1] = ""
  local option_line = #lines + 1
  for i, option in ipairs(prompt.options or {}) do
    local key = i <= MAX_DIGIT_OPTIONS and tostring(i) or " "
    lines[#lines + 1] = ("[%s] %s"):format(key, ((option.label or option.id or "?"):gsub("\n", " ")))
  end
  lines[#lines + 1] = ""
  local n = math.min(#(prompt.options or {}), MAX_DIGIT_OPTIONS)
  local help = ("1-%d answer · f+digit answer with feedback"):format(n)
  if kind == "fileChange" then
    help = help .. " · d diff view"
  end
  lines[#lines + 1] = help .. " · q later (:CocoGates)"
  return lines, option_line
end

local Approvals = {}
Approvals.__index = Approvals

-- hooks:
--   closed(gate)                       the gate is gone (answered or resolved elsewhere)
--   transcript_visible() -> bool
function M.new(config, hooks)
  -- gates: the open ones by id; answers: what we answered, by gate id, until the bridge reports it.
  return setmetatable({ config = config, hooks = hooks, gates = {}, answers = {}, asked = 0 }, Approvals)
end

-- Shows a gate. answer(optionId, feedback, answers) sends the choice to the bridge.
function Approvals:ask(prompt, answer)
  local old = self.gates[prompt.gateId]
  if old then
    self:close_views(old)
  end
  self.answers[prompt.gateId] = nil -- asked again: the bridge could not use our answer
  self.asked = self.asked + 1
  local gate = { id = prompt.gateId, prompt = prompt, answer = answer, order = self.asked }
  self.gates[gate.id] = gate
  -- A window cannot open everywhere (the command-line window, for one): then the gate stays
  -- open, unanswered, for :CocoGates.
  local shown, err = pcall(self.show, self, gate)
  if not shown then
    vim.notify(("Coco needs your approval (%s): %s\n:CocoGates to answer it"):format(prompt.title or gate.id, err),
      vim.log.levels.WARN)
  elseif self.config.notify.approvals_when_hidden and not self.hooks.transcript_visible() then
    vim.notify("Coco needs your approval: " .. (prompt.title or gate.id), vim.log.levels.WARN)
  end
  return gate
end

function Approvals:show(gate)
  if self.config.approvals.ui == "select" then
    self:show_select(gate)
  else
    self:show_float(gate)
  end
end

function Approvals:count()
  local n = 0
  for _ in pairs(self.gates) do
    n = n + 1
  end
  return n
end

-- Open gates, oldest first.
function Approvals:list()
  local list = vim.tbl_values(self.gates)
  table.sort(list, function(a, b)
    return a.order < b.order
  end)
  return list
end

-- Answers gate_id with its option number index. For questions (userInput), asks each one first.
function Approvals:choose(gate_id, index, feedback)
  local gate = self.gates[gate_id]
  if not gate then
    vim.notify("Coco: that approval was already resolved", vim.log.levels.INFO)
    return false
  end
  local option = (gate.prompt.options or {})[index]
  if not option then
    return false
  end
  local function send(answers)
    if self.gates[gate_id] ~= gate then
      return
    end
    self:forget(gate)
    self.answers[gate_id] = { option = option, feedback = feedback }
    gate.answer(option.id, feedback, answers)
  end
  local questions = gate.prompt.questions
  if gate.prompt.kind == "userInput" and option.kind == "allowOnce" and type(questions) == "table" and #questions > 0 then
    self:ask_questions(questions, send)
  else
    send(nil)
  end
  return true
end

function Approvals:ask_questions(questions, done)
  local answers = vim.empty_dict()
  local function ask(i)
    local q = questions[i]
    if not q then
      return done(answers)
    end
    vim.ui.input({ prompt = (q.question or q.header or q.id) .. " " }, function(text)
      if text == nil then
        return -- dismissed: the gate stays open
      end
      answers[q.id] = text
      ask(i + 1)
    end)
  end
  ask(1)
end

-- The bridge reports gate_id resolved: by our answer (its popup is already closed) or by someone
-- else (a policy, a timeout, the task directory, the turn ended), which closes its popup. Returns
-- what we answered ({option, feedback}), if we did.
function Approvals:resolved(gate_id)
  local gate = self.gates[gate_id]
  if gate then
    self:forget(gate)
  end
  local ours = self.answers[gate_id]
  self.answers[gate_id] = nil
  return ours
end

-- The bridge is gone: every gate with it.
function Approvals:clear()
  for _, gate in pairs(self.gates) do
    self:forget(gate)
  end
  self.answers = {}
end

function Approvals:forget(gate)
  self.gates[gate.id] = nil
  self:close_views(gate)
  self.hooks.closed(gate)
end

---------------------------------------------------------------------------------------------------
-- vim.ui.select

function Approvals:show_select(gate)
  vim.ui.select(gate.prompt.options or {}, {
    prompt = gate.prompt.title or "Codex asks for approval",
    kind = "coco_approval",
    format_item = function(option)
      return option.label or option.id
    end,
  }, function(_, index)
    if index then
      self:choose(gate.id, index)
    end
  end)
end

---------------------------------------------------------------------------------------------------
-- The floating window

local function display_height(lines, width)
  local h = 0
  for _, l in ipairs(lines) do
    h = h + math.max(1, math.ceil(vim.fn.strdisplaywidth(l) / width))
  end
  return h
end

function Approvals:show_float(gate)
  local lines = M.popup_lines(gate.prompt)
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].bufhidden = "wipe"
  vim.bo[buf].filetype = "coco-approval"

  local widest = 0
  for _, l in ipairs(lines) do
    widest = math.max(widest, vim.fn.strdisplaywidth(l))
  end
  local columns, rows = vim.o.columns, vim.o.lines - vim.o.cmdheight - 1
  local width = math.max(math.min(widest + 1, columns - 4, 120), math.min(40, columns - 2))
  local height = math.max(1, math.min(display_height(lines, width), rows - 4))
  local prev_win = vim.api.nvim_get_current_win()
  -- Focus the popup only in Normal mode: a digit typed into Insert mode must not answer a
  -- prompt its user has not read. Otherwise it takes focus when Normal mode comes back.
  local focus = vim.api.nvim_get_mode().mode == "n"
  local win = vim.api.nvim_open_win(buf, focus, {
    relative = "editor",
    row = math.max(0, math.floor((rows - height) / 2) - 1),
    col = math.max(0, math.floor((columns - width) / 2)),
    width = width,
    height = height,
    style = "minimal",
    border = self.config.approvals.border,
  })
  vim.wo[win].wrap = true
  vim.wo[win].linebreak = true
  gate.popup = { win = win, buf = buf, prev_win = prev_win }
  self:map_popup_keys(gate, buf)
  if not focus then
    self:focus_when_normal(gate)
  end
end

function Approvals:focus_when_normal(gate)
  if vim.fn.exists("##ModeChanged") ~= 1 then
    return
  end
  local group = vim.api.nvim_create_augroup("coco_focus_" .. gate.id, { clear = true })
  vim.api.nvim_create_autocmd("ModeChanged", {
    group = group,
    pattern = "*:n",
    callback = function()
      pcall(vim.api.nvim_del_augroup_by_id, group)
      local popup = gate.popup
      if popup and vim.api.nvim_win_is_valid(popup.win) then
        popup.prev_win = vim.api.nvim_get_current_win()
        vim.api.nvim_set_current_win(popup.win)
      end
    end,
  })
end

local function as_list(keys)
  if type(keys) == "string" then
    return { keys }
  end
  return keys or {}
end

function Approvals:map_popup_keys(gate, buf)
  local keys = self.config.keymaps.approval
  local function map(lhs, fn, desc)
    vim.keymap.set("n", lhs, fn, { buffer = buf, nowait = true, silent = true, desc = desc })
  end
  local n = math.min(#(gate.prompt.options or {}), MAX_DIGIT_OPTIONS)
  for i = 1, n do
    map(tostring(i), function()
      self:choose(gate.id, i)
    end, "Coco: " .. (gate.prompt.options[i].label or ""))
  end
  if keys.feedback then
    map(keys.feedback, function()
      local ok, char = pcall(vim.fn.getcharstr)
      local i = ok and tonumber(char)
      if not i or i < 1 or i > n then
        return
      end
      vim.ui.input({ prompt = "Feedback for Codex: " }, function(text)
        if text ~= nil then
          self:choose(gate.id, i, text ~= "" and text or nil)
        end
      end)
    end, "Coco: answer with feedback")
  end
  if keys.diff and gate.prompt.kind == "fileChange" then
    map(keys.diff, function()
      self:open_diff(gate)
    end, "Coco: review the change in a diff view")
  end
  for _, lhs in ipairs(as_list(keys.hide)) do
    map(lhs, function()
      self:close_views(gate)
    end, "Coco: answer later (:CocoGates)")
  end
end

function Approvals:open_diff(gate)
  local changes = gate.prompt.changes or {}
  local function open(change)
    gate.diff = require("coco.diffview").open(change, {
      on_close = function()
        gate.diff = nil
        local popup = gate.popup
        if popup and vim.api.nvim_win_is_valid(popup.win) then
          vim.api.nvim_set_current_win(popup.win)
        end
      end,
    })
  end
  if #changes == 1 then
    open(changes[1])
  elseif #changes > 1 then
    vim.ui.select(changes, {
      prompt = "Which file?",
      format_item = function(c)
        return c.path
      end,
    }, function(change)
      if change then
        open(change)
      end
    end)
  end
end

-- Closes the popup (and a diff view of it) and gives focus back to where it was.
function Approvals:close_views(gate)
  if gate.diff then
    local diff = gate.diff
    gate.diff = nil
    diff.close()
  end
  local popup = gate.popup
  gate.popup = nil
  if not popup then
    return
  end
  pcall(vim.api.nvim_del_augroup_by_name, "coco_focus_" .. gate.id)
  if vim.api.nvim_win_is_valid(popup.win) then
    local was_current = vim.api.nvim_get_current_win() == popup.win
    vim.api.nvim_win_close(popup.win, true)
    if was_current and vim.api.nvim_win_is_valid(popup.prev_win) then
      vim.api.nvim_set_current_win(popup.prev_win)
    end
  end
end

-- True when the gate's popup is on screen.
function Approvals:is_shown(gate)
  return gate.popup ~= nil and vim.api.nvim_win_is_valid(gate.popup.win)
end

return M
