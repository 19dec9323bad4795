-- :checkhealth coco. Neovim 0.10 has vim.health.start/ok/...; older ones have report_start/
-- report_ok/... (in vim.health on 0.9, in require("health") on 0.7 and 0.8).
local config_mod = require("coco.config")
local process = require("coco.process")

local M = {}

local function reporter()
  local h = vim.health
  if h and h.start then -- 0.10+
    return h
  end
  h = (h and h.report_start) and h or require("health") -- 0.9: vim.health.report_*; 0.7, 0.8: require("health")
  return {
    start = h.report_start,
    ok = h.report_ok,
    info = h.report_info,
    warn = h.report_warn,
    error = h.report_error,
  }
end

local function first_line(text)
  return (text or ""):match("^[^\n]*") or ""
end

local function check_neovim(report)
  local v = vim.version()
  local text = ("Neovim %d.%d.%d"):format(v.major, v.minor, v.patch)
  if v.major == 0 and v.minor < 7 then
    report.error(text .. ": coco.nvim needs Neovim 0.7 or newer")
  else
    report.ok(text)
  end
end

-- Returns the pinned codex version and the codex path that `coco version` reports.
local function check_bridge(report, config)
  local prefix = config_mod.cli_prefix(config)
  local exe = prefix[1]
  if vim.fn.executable(exe) ~= 1 then
    report.error(("bridge: `%s` not found"):format(exe), {
      "Build coco (./dev build in its checkout) and put it on PATH,",
      "or point setup({ cmd = { '/path/to/coco', 'bridge' } }) at it.",
    })
    return nil
  end
  local code, stdout, stderr = process.run_sync(vim.list_extend(vim.deepcopy(prefix), { "version" }), { env = config.env })
  if code ~= 0 then
    report.error(("bridge: `%s version` failed (exit code %d): %s"):format(exe, code, first_line(stderr)))
    return nil
  end
  local line = first_line(stdout)
  report.ok(("bridge: %s (%s)"):format(line, vim.fn.exepath(exe) ~= "" and vim.fn.exepath(exe) or exe))
  return line:match("pinned codex ([%w%.%-]+)"), stdout:match("\ncodex: ([^\n]+)")
end

local function check_codex(report, config, pinned, reported_path)
  local env = config.env or {}
  local path = config_mod.codex_from_cmd(config) or env.COCO_CODEX or vim.env.COCO_CODEX
  if not path or path == "" then
    path = reported_path
  end
  if not path or path == "" or path == "not found" then
    path = vim.fn.exepath("codex")
  end
  if not path or path == "" or path == "not found" then
    report.error("codex: not found", {
      "Install the pinned codex (./dev setup in coco's checkout installs it into .tools/),",
      "or pass `--codex PATH` in cmd, or set COCO_CODEX.",
    })
    return
  end
  local code, stdout = process.run_sync({ path, "--version" }, { env = env })
  if code ~= 0 then
    report.error(("codex: `%s --version` failed (exit code %d)"):format(path, code))
    return
  end
  local version = first_line(stdout):match("(%d+%.%d+%.%d+)")
  local text = ("codex: %s (%s)"):format(first_line(stdout), path)
  if pinned and version and version ~= pinned then
    report.warn(text, { ("coco is tested with codex %s"):format(pinned) })
  else
    report.ok(text)
  end
end

-- Writable means a file can be made there: access() says yes to root even on /proc. The bridge
-- creates the directory anyway, so creating it here changes nothing.
local function check_task_root(report, config)
  local root = require("coco.tasks").task_root(config)
  if vim.fn.isdirectory(root) ~= 1 and not pcall(vim.fn.mkdir, root, "p", tonumber("700", 8)) then
    report.error("task root cannot be created: " .. root, { "Set task_root in setup() to a writable directory." })
    return
  end
  local probe = ("%s/.coco-health-%d"):format(root, vim.fn.getpid())
  local ok = pcall(vim.fn.writefile, { "" }, probe) and vim.fn.filereadable(probe) == 1
  vim.fn.delete(probe)
  if ok then
    report.ok("task root writable: " .. root)
  else
    report.error("task root not writable: " .. root, { "Set task_root in setup() to a writable directory." })
  end
end

function M.check()
  local report = reporter()
  local config = require("coco").config()
  report.start("coco.nvim")
  check_neovim(report)
  local pinned, codex_path = check_bridge(report, config)
  check_codex(report, config, pinned, codex_path)
  check_task_root(report, config)
  report.info("status: " .. require("coco").status())
end

return M
