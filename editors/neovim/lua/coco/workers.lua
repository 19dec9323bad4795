-- Exec workers (`coco/exec/spawn`): one buffer per worker, appended live from its
-- `coco/exec/event` stream (codex exec --json events) and closed with `coco/exec/completed`.
local View = require("coco.view")

local M = {}

local function text_lines(text)
  local lines = vim.split(tostring(text or ""), "\n", { plain = true })
  if #lines > 1 and lines[#lines] == "" then
    table.remove(lines)
  end
  return lines
end

local function one_line(text)
  return (tostring(text or ""):gsub("\n", " "))
end

-- The lines one `codex exec --json` event adds to a worker's buffer. Pure.
function M.event_lines(event)
  local t = event.type
  local item = event.item or {}
  if event.malformed then
    return { "(unreadable output) " .. one_line(event.malformed) }
  elseif t == "turn.started" then
    return { "*Turn started*", "" }
  elseif t == "turn.completed" then
    return { "*Turn completed*", "" }
  elseif t == "turn.failed" then
    return { "**Turn failed**: " .. one_line((event.error or {}).message), "" }
  elseif t == "error" then
    return { "**Error**: " .. one_line(event.message), "" }
  elseif t == "item.started" and item.type == "command_execution" then
    return { ("Running `%s`"):format(item.command or "?"), "" }
  elseif t == "item.completed" then
    if item.type == "agent_message" then
      local lines = { "## Codex" }
      vim.list_extend(lines, text_lines(item.text))
      lines[#lines + 1] = ""
      return lines
    elseif item.type == "reasoning" then
      local lines = {}
      for _, l in ipairs(text_lines(item.text)) do
        lines[#lines + 1] = "> " .. l
      end
      lines[#lines + 1] = ""
      return lines
    elseif item.type == "command_execution" then
      local lines = { "```console", "$ " .. (item.command or "?") }
      if item.aggregated_output and item.aggregated_output ~= "" then
        vim.list_extend(lines, text_lines(item.aggregated_output))
      end
      lines[#lines + 1] = "```"
      lines[#lines + 1] = ("exit code %s · %s"):format(tostring(item.exit_code or "?"), item.status or "")
      lines[#lines + 1] = ""
      return lines
    elseif item.type == "file_change" then
      local lines = { ("**File changes** (%s)"):format(item.status or "") }
      for _, c in ipairs(item.changes or {}) do
        lines[#lines + 1] = ("- `%s` (%s)"):format(c.path or "?", c.kind or "?")
      end
      lines[#lines + 1] = ""
      return lines
    elseif item.type == "error" then
      return { "*Warning*: " .. one_line(item.message), "" }
    end
  end
  return {}
end

-- The lines of `coco/exec/completed`. Pure.
function M.completed_lines(params)
  local lines = {
    ("**Worker %s**: %s%s"):format(
      params.status or "?",
      params.agentId or "?",
      params.durationMs and (" in %.1f s"):format(params.durationMs / 1000) or ""
    ),
  }
  if params.reason then
    lines[#lines + 1] = "Reason: " .. one_line(params.reason)
  end
  if params.final ~= nil then
    local final = type(params.final) == "string" and params.final or vim.json.encode(params.final)
    lines[#lines + 1] = "Final answer:"
    vim.list_extend(lines, text_lines(final))
  end
  lines[#lines + 1] = ""
  return lines
end

local Workers = {}
Workers.__index = Workers

function M.new(config)
  return setmetatable({ config = config, workers = {}, order = {} }, Workers)
end

function Workers:get(agent_id)
  local w = self.workers[agent_id]
  if not w then
    w = {
      id = agent_id,
      status = "queued",
      view = View.new({ name = "coco://worker/" .. agent_id, filetype = "coco", config = self.config }),
    }
    self.workers[agent_id] = w
    self.order[#self.order + 1] = agent_id
  end
  return w
end

function Workers:spawned(agent_id, prompt, dir)
  local w = self:get(agent_id)
  local lines = { "# Worker " .. agent_id, "" }
  vim.list_extend(lines, text_lines(prompt))
  lines[#lines + 1] = ""
  lines[#lines + 1] = "Directory: " .. tostring(dir)
  lines[#lines + 1] = ""
  w.view:apply({ { "lines", lines } })
  w.view:open(false)
  return w
end

function Workers:event(params)
  local w = self:get(params.agentId or "?")
  local event = params.event or {}
  if event.type == "turn.started" or event.type == "thread.started" then
    w.status = "running"
  end
  local lines = M.event_lines(event)
  if #lines > 0 then
    w.view:apply({ { "lines", lines } })
  end
end

function Workers:completed(params)
  local w = self:get(params.agentId or "?")
  w.status = params.status or "completed"
  w.view:apply({ { "lines", M.completed_lines(params) } })
end

-- The bridge is gone: its workers with it.
function Workers:bridge_gone()
  for _, w in pairs(self.workers) do
    if w.status == "queued" or w.status == "running" then
      w.status = "lost"
      w.view:apply({ { "lines", { "*The bridge stopped; this worker was cancelled*", "" } } })
    end
  end
end

function Workers:running()
  local n = 0
  for _, w in pairs(self.workers) do
    if w.status == "queued" or w.status == "running" then
      n = n + 1
    end
  end
  return n
end

return M
