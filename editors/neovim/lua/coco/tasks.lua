-- Task directories (:CocoTasks): the list comes from `coco task ls --json` (newest first), and a
-- task opens as the transcript `coco task show` rebuilds from its directory. No bridge needs to run.
local compat = require("coco.compat")
local config_mod = require("coco.config")
local process = require("coco.process")
local View = require("coco.view")

local M = {}

local views = {} -- task id -> View, so opening a task twice reuses its buffer

function M.task_root(config)
  if config.task_root then
    return config.task_root
  end
  local coco_home = config.env.COCO_HOME or vim.env.COCO_HOME
  if coco_home and coco_home ~= "" then
    return coco_home .. "/tasks"
  end
  return vim.fn.expand("~/.coco/tasks")
end

local function with_root(config, argv)
  if config.task_root then
    vim.list_extend(argv, { "--task-root", config.task_root })
  end
  return argv
end

-- callback(tasks) with the tasks newest first, or callback(nil, error text).
function M.list(config, callback)
  local argv = with_root(config, vim.list_extend(config_mod.cli_prefix(config), { "task", "ls", "--json" }))
  process.run(argv, function(code, stdout, stderr)
    if code ~= 0 then
      return callback(nil, ("`%s` failed (exit code %d): %s"):format(table.concat(argv, " "), code, vim.trim(stderr)))
    end
    local ok, tasks = pcall(vim.json.decode, stdout, { luanil = { object = true } })
    if not ok or type(tasks) ~= "table" or not compat.islist(tasks) then
      return callback(nil, "`coco task ls --json` printed no JSON list: " .. stdout:sub(1, 200))
    end
    callback(tasks)
  end, { env = config.env })
end

function M.format(task)
  return ("%s  %-11s %s"):format(task.id or "?", task.status or "?", task.title or "")
end

-- Opens a task as its transcript, read from disk by `coco task show`.
function M.show(config, task)
  local argv = with_root(config, vim.list_extend(config_mod.cli_prefix(config), { "task", "show", task.dir or task.id }))
  process.run(argv, function(code, stdout, stderr)
    local id = task.id or "?"
    views[id] = views[id] or View.new({ name = "coco://task/" .. id, filetype = "coco", config = config })
    local view = views[id]
    local lines = vim.split(stdout, "\n", { plain = true })
    if code ~= 0 then
      lines = vim.split(("`coco task show` failed (exit code %d):\n%s"):format(code, stderr), "\n", { plain = true })
    end
    view:set_lines(lines)
    view:open(true)
  end, { env = config.env })
end

-- :CocoTasks: pick a task (newest first) and open it.
function M.pick(config)
  M.list(config, function(tasks, err)
    if not tasks then
      vim.notify("Coco: cannot list the tasks: " .. err, vim.log.levels.ERROR)
      return
    end
    if #tasks == 0 then
      vim.notify("Coco: no tasks in " .. M.task_root(config), vim.log.levels.INFO)
      return
    end
    vim.ui.select(tasks, { prompt = "Coco tasks", kind = "coco_task", format_item = M.format }, function(task)
      if task then
        M.show(config, task)
      end
    end)
  end)
end

return M
