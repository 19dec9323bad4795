-- The transcript reducer: turns the session's events (codex's notifications as they arrive through
-- the bridge, plus a few of the plugin's own) into edits of a markdown buffer. Pure: no buffer
-- here, so tests feed events and read the edits.
--
-- Two kinds of edits:
--   { "lines", {...} }  append whole lines after the last line;
--   { "text", "..." }   append text at the end of the last line ("\n" starts new lines).
-- Streamed agent text becomes "text" edits, one per delta: the buffer grows as the words arrive
-- and is never re-rendered.
local M = {}

local Reducer = {}
Reducer.__index = Reducer

function M.new()
  return setmetatable({
    streaming = nil, -- id of the agent message whose text ends the buffer now
    shown = {}, -- agent message id -> text shown so far
    output = {}, -- command id -> output collected from outputDelta
  }, Reducer)
end

local function split_lines(text)
  return vim.split(text or "", "\n", { plain = true })
end

-- Lines of text, without the empty line a final "\n" would leave.
local function text_lines(text)
  local lines = split_lines(text)
  if #lines > 1 and lines[#lines] == "" then
    table.remove(lines)
  end
  return lines
end

local function fence(lang, body)
  local out = { "```" .. lang }
  vim.list_extend(out, text_lines(body))
  out[#out + 1] = "```"
  return out
end

local function change_kind(change)
  local kind = change.kind
  if type(kind) == "table" then -- codex items say {type = "add"}, approval prompts say "add"
    kind = kind.type
  end
  return kind or "update"
end

-- Codex gives the whole content as the "diff" of an added (or deleted) file; make it read as one.
function M.change_diff_lines(change)
  local kind = change_kind(change)
  local diff = change.diff or ""
  local lines = text_lines(diff)
  if (kind == "add" or kind == "delete") and not diff:match("^%-%-%- ") and not diff:match("^@@") then
    local mark = kind == "add" and "+" or "-"
    for i, l in ipairs(lines) do
      lines[i] = mark .. l
    end
  end
  return lines
end
M.change_kind = change_kind

function Reducer:close_stream(out)
  if self.streaming then
    out[#out + 1] = { "lines", { "" } }
    self.streaming = nil
  end
end

function Reducer:open_stream(out, id)
  self:close_stream(out)
  out[#out + 1] = { "lines", { "## Codex", "" } }
  self.streaming = id
  self.shown[id] = self.shown[id] or ""
end

function Reducer:stream_text(out, id, text)
  if text == nil or text == "" then
    return
  end
  if self.streaming ~= id then
    self:open_stream(out, id)
  end
  out[#out + 1] = { "text", text }
  self.shown[id] = (self.shown[id] or "") .. text
end

-- A block that is not streamed text: ends any stream first.
function Reducer:block(out, lines)
  self:close_stream(out)
  out[#out + 1] = { "lines", lines }
end

local function command_block(item, collected)
  local lines = { "```console", "$ " .. (item.command or "?") }
  local output = item.aggregatedOutput or collected
  if output and output ~= "" then
    vim.list_extend(lines, text_lines(output))
  end
  lines[#lines + 1] = "```"
  local status = item.status or "completed"
  if item.exitCode ~= nil then
    lines[#lines + 1] = ("exit code %d · %s"):format(item.exitCode, status)
  else
    lines[#lines + 1] = status
  end
  lines[#lines + 1] = ""
  return lines
end

local function file_change_block(item, title)
  local lines = { ("**%s** (%s)"):format(title, item.status or "proposed") }
  for _, change in ipairs(item.changes or {}) do
    lines[#lines + 1] = ("- `%s` (%s)"):format(change.path or "?", change_kind(change))
    if change.movePath then
      lines[#lines] = lines[#lines] .. " → `" .. change.movePath .. "`"
    end
    local diff = M.change_diff_lines(change)
    if #diff > 0 and diff[1] ~= "" then
      lines[#lines + 1] = "```diff"
      vim.list_extend(lines, diff)
      lines[#lines + 1] = "```"
    end
  end
  lines[#lines + 1] = ""
  return lines
end

function Reducer:item_started(out, item)
  local t = item.type
  if t == "agentMessage" then
    if self.streaming ~= item.id then
      self:open_stream(out, item.id)
    end
    self:stream_text(out, item.id, item.text)
  elseif t == "commandExecution" then
    self:block(out, { ("Running `%s`"):format(item.command or "?"), "" })
  end
end

function Reducer:item_completed(out, item)
  local t = item.type
  if t == "agentMessage" then
    local shown = self.shown[item.id]
    local text = item.text or ""
    if shown == nil then
      -- Arrived complete (no started, no deltas): show all of it.
      self:stream_text(out, item.id, text)
    elseif text:sub(1, #shown) == shown and #text > #shown then
      self:stream_text(out, item.id, text:sub(#shown + 1))
    end
    self.shown[item.id] = nil
    if self.streaming == item.id then
      self:close_stream(out)
    end
  elseif t == "reasoning" then
    local summary = item.summary
    if type(summary) == "table" and #summary > 0 then
      local lines = {}
      for _, part in ipairs(summary) do
        local text = type(part) == "table" and part.text or part
        for _, l in ipairs(text_lines(tostring(text))) do
          lines[#lines + 1] = "> " .. l
        end
      end
      lines[#lines + 1] = ""
      self:block(out, lines)
    end
  elseif t == "commandExecution" then
    self:block(out, command_block(item, self.output[item.id]))
    self.output[item.id] = nil
  elseif t == "fileChange" then
    self:block(out, file_change_block(item, "File changes"))
  elseif t == "webSearch" then
    self:block(out, { ("Web search: %s"):format(item.query or ""), "" })
  elseif t == "mcpToolCall" then
    self:block(out, { ("Tool `%s/%s` (%s)"):format(item.server or "?", item.tool or "?", item.status or ""), "" })
  end
end

local function one_line(text)
  return (tostring(text or ""):gsub("\n", " "))
end

-- Returns the edits for one event ({method, params}). Unknown events give no edits.
function Reducer:apply(event)
  local out = {}
  local m, p = event.method, event.params or {}
  if m == "coco.prompt" then
    local lines = { "## You" }
    vim.list_extend(lines, text_lines(p.text))
    lines[#lines + 1] = ""
    self:block(out, lines)
  elseif m == "coco.newThread" then
    self:block(out, { "---", "*New thread*", "" })
  elseif m == "coco.info" then
    self:block(out, { "*" .. one_line(p.text) .. "*", "" })
  elseif m == "coco.error" then
    local lines = { "**Error**: " .. one_line(p.text) }
    if p.detail and p.detail ~= "" then
      vim.list_extend(lines, fence("", p.detail))
    end
    lines[#lines + 1] = ""
    self:block(out, lines)
  elseif m == "coco.gate" then
    self:block(out, { "**Approval needed**: " .. one_line(p.title), "" })
  elseif m == "coco.gateResolved" then
    self:block(out, { ("*Approval %s: %s (%s)*"):format(p.gateId or "?", one_line(p.choice), p.by or "?"), "" })
  elseif m == "item/started" then
    self:item_started(out, p.item or {})
  elseif m == "item/agentMessage/delta" then
    self:stream_text(out, p.itemId, p.delta)
  elseif m == "item/commandExecution/outputDelta" then
    self.output[p.itemId] = (self.output[p.itemId] or "") .. (p.delta or "")
  elseif m == "item/completed" then
    self:item_completed(out, p.item or {})
  elseif m == "turn/completed" then
    local turn = p.turn or {}
    local status = turn.status or "completed"
    local lines = { ("*Turn %s*"):format(status) }
    if turn.error and turn.error.message then
      lines[1] = ("*Turn %s*: %s"):format(status, one_line(turn.error.message))
    end
    lines[#lines + 1] = ""
    self:block(out, lines)
  elseif m == "error" then
    local e = p.error or {}
    local retry = p.willRetry and " (retrying)" or ""
    self:block(out, { "**Error**" .. retry .. ": " .. one_line(e.message or vim.inspect(e)), "" })
  elseif m == "warning" then
    self:block(out, { "*Warning*: " .. one_line(p.message), "" })
  end
  return out
end

return M
