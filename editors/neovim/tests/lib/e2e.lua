-- Helpers for the end-to-end suites: a scratch directory (COCO_TEST_DIR, made by tests/run), the
-- real `coco mock-model` started from here, a private CODEX_HOME pointing at it, and the plugin
-- set up to run the real `coco bridge` with the real pinned codex.
local T = require("testing")

local E = {}

-- How long to wait for anything: a deadline, never a measurement. Generous, because a loaded
-- 2-core machine (ctest runs two suites at once, next to codex) can be slow.
E.TIMEOUT = 60000

E.source_dir = assert(os.getenv("COCO_SOURCE_DIR"), "COCO_SOURCE_DIR is not set")
E.coco_bin = assert(os.getenv("COCO_BIN"), "COCO_BIN is not set (the coco executable)")
E.work = assert(os.getenv("COCO_TEST_DIR"), "COCO_TEST_DIR is not set (tests/run makes it)")

-- The native codex binary: spawning it directly skips the Node launcher.
function E.codex_path()
  local env = os.getenv("COCO_CODEX")
  if env and env ~= "" then
    return env
  end
  return E.source_dir .. "/.tools/node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex"
end

function E.write_file(path, text)
  vim.fn.mkdir(vim.fn.fnamemodify(path, ":h"), "p")
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

function E.read_file(path)
  local f = io.open(path, "r")
  if not f then
    return nil
  end
  local text = f:read("*a")
  f:close()
  return text
end

function E.exists(path)
  return (vim.uv or vim.loop).fs_stat(path) ~= nil
end

-- Starts `coco mock-model` with a script; returns {port, stop(), log()}.
function E.start_mock(name, script)
  local dir = E.work .. "/" .. name
  E.write_file(dir .. "/script.yaml", script)
  local mock = { stderr = {} }
  local first = nil
  mock.job = vim.fn.jobstart({ E.coco_bin, "mock-model", "--script", dir .. "/script.yaml" }, {
    on_stdout = function(_, data)
      first = first or (data[1] ~= "" and data[1]) or nil
    end,
    on_stderr = function(_, data)
      vim.list_extend(mock.stderr, data)
    end,
  })
  T.truthy(mock.job > 0, "mock-model started")
  T.wait_for(function()
    return first ~= nil
  end, "the mock model's port", E.TIMEOUT, function()
    return table.concat(mock.stderr, "\n")
  end)
  mock.port = T.truthy(tonumber(first), "a port on the first line, got " .. tostring(first))
  function mock.stop()
    vim.fn.jobstop(mock.job)
    vim.fn.jobwait({ mock.job }, 5000)
    E.write_file(dir .. "/mock-model.log", table.concat(mock.stderr, "\n"))
  end
  function mock.log()
    return table.concat(mock.stderr, "\n")
  end
  return mock
end

-- A private CODEX_HOME (never under /tmp: codex's sandbox refuses it) aimed at the mock.
function E.codex_home(name, port, model)
  local home = E.work .. "/" .. name
  E.write_file(home .. "/config.toml", ([[
model = "%s"
model_provider = "mock"
approval_policy = "on-request"
sandbox_mode = "read-only"
[analytics]
enabled = false
[model_providers.mock]
name = "mock"
base_url = "http://127.0.0.1:%d/v1"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
supports_websockets = false
]]):format(model or "gpt-5.5", port))
  return home
end

-- The plugin options that run the real bridge from the build, in this test's scratch space.
function E.plugin_opts(codex_home, extra)
  return vim.tbl_extend("force", {
    cmd = { E.coco_bin, "bridge", "--codex", E.codex_path(), "--log-level", "debug" },
    task_root = E.work .. "/tasks",
    env = { CODEX_HOME = codex_home },
  }, extra or {})
end

-- The floating approval window, if one is open.
function E.approval_window()
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= "" then
      local buf = vim.api.nvim_win_get_buf(win)
      if vim.bo[buf].filetype == "coco-approval" then
        return win, buf
      end
    end
  end
  return nil
end

function E.buffer_text(buf)
  return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
end

-- Types keys as a user would (mappings apply), in the current window.
function E.press(keys)
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(keys, true, false, true), "mx", false)
end

return E
