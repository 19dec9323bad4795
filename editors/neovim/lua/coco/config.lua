-- Defaults and the merge of the user's options (documented in doc/coco.txt, "coco-config").
local compat = require("coco.compat")

local M = {}

M.defaults = {
  -- The bridge's argv. Everything before the word "bridge" is also how the plugin runs the other
  -- coco subcommands (`coco task ls`, `coco version`, ...).
  cmd = { "coco", "bridge" },
  -- Extra environment variables for the bridge (e.g. { CODEX_HOME = "..." }).
  env = {},
  -- Passed as --task-root DIR and --config FILE when set.
  task_root = nil,
  config = nil,
  -- How the transcript opens: "vsplit", "split", "tab" or "current" (the current window).
  layout = "vsplit",
  -- Width of a vsplit / height of a split (nil: Neovim's default halving).
  size = nil,
  -- Open the transcript when a prompt is sent (focus stays where it is).
  open_on_prompt = true,
  approvals = {
    -- "float": a popup with one key per option; "select": vim.ui.select, so picker plugins
    -- (telescope, fzf-lua, dressing, ...) take over.
    ui = "float",
    border = "rounded",
  },
  notify = {
    -- vim.notify when an approval waits and no transcript window is visible.
    approvals_when_hidden = true,
    -- vim.notify when a turn ends and no transcript window is visible.
    turn_completed_when_hidden = false,
  },
  keymaps = {
    -- In the approval popup (the digits 1-9 always choose an option).
    approval = {
      feedback = "f", -- then a digit: answer with feedback typed into a prompt
      diff = "d", -- review a file change in a native vimdiff first
      hide = { "q", "<Esc>" }, -- hide the popup; the gate stays open (:CocoGates)
    },
    -- In the transcript buffer (false disables one).
    transcript = {
      prompt = "i",
      interrupt = "<C-c>",
      close = "q",
    },
  },
  -- How long VimLeavePre / :CocoStop wait for the bridge to finish its task directory.
  stop_timeout_ms = 3000,
  -- Lines kept for :CocoLog (the bridge's stderr and the plugin's own messages).
  log_lines = 2000,
}

-- Lists (cmd, hide keys) replace the default instead of being merged index by index, which is
-- what vim.tbl_deep_extend would do; tables with keys are merged key by key.
local function is_list(t)
  return type(t) == "table" and next(t) ~= nil and compat.islist(t)
end

local function merge(defaults, user)
  if user == nil then
    return vim.deepcopy(defaults)
  end
  if type(defaults) ~= "table" or type(user) ~= "table" or is_list(defaults) or is_list(user) then
    return vim.deepcopy(user)
  end
  local out = vim.deepcopy(defaults)
  for k, v in pairs(user) do
    out[k] = merge(defaults[k], v)
  end
  return out
end

local function check(ok, what)
  if not ok then
    error("coco: bad option " .. what, 3)
  end
end

local function validate(c)
  check(type(c.cmd) == "table" and #c.cmd > 0, "cmd: a non-empty list, like { 'coco', 'bridge' }")
  check(type(c.env) == "table", "env: a table of environment variables")
  check(c.task_root == nil or type(c.task_root) == "string", "task_root: a path")
  check(c.config == nil or type(c.config) == "string", "config: a path")
  check(vim.tbl_contains({ "vsplit", "split", "tab", "current" }, c.layout), "layout: vsplit, split, tab or current")
  check(c.approvals.ui == "float" or c.approvals.ui == "select", "approvals.ui: float or select")
end

function M.build(user)
  local c = merge(M.defaults, user or {})
  validate(c)
  return c
end

-- The argv prefix that runs coco's other subcommands: cmd up to (without) "bridge".
function M.cli_prefix(c)
  local prefix = {}
  for _, arg in ipairs(c.cmd) do
    if arg == "bridge" then
      return prefix
    end
    prefix[#prefix + 1] = arg
  end
  return { c.cmd[1] }
end

-- The value of `--codex PATH` in cmd, if any.
function M.codex_from_cmd(c)
  for i, arg in ipairs(c.cmd) do
    if arg == "--codex" then
      return c.cmd[i + 1]
    end
  end
  return nil
end

return M
