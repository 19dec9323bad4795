-- Neovim in a real terminal (tmux): the approval popup is drawn on screen, the command and every
-- option can be read there, and a key press answers it. Driven from a headless Neovim that only
-- runs tmux commands and waits.
local here = vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":h")
package.path = here .. "/lib/?.lua;" .. package.path
local T = require("testing")
local E = require("e2e")

-- yield_time_ms: codex waits for the command to end before it asks the model again. Without it,
-- a command slower than codex's default yield (about 10 s, seen on a loaded 2-core machine) is
-- reported "still running", the turn ends, and the file appears only later.
local SCRIPT = [[
steps:
  - when: "run in tmux"
    exec: "echo tmux > tmux.txt"
    escalated: true
    args: { yield_time_ms: 120000 }
    justification: "Write tmux.txt in the project?"
  - when: "run in tmux"
    message: "The tmux command ran."
]]

local plugin_dir = vim.fn.fnamemodify(here, ":h")
local project = E.work .. "/project"
local socket = E.work .. "/tmux.sock"
local mock
local started = false

local function tmux(...)
  local out = vim.fn.system(vim.list_extend({ "tmux", "-S", socket, "-f", "/dev/null" }, { ... }))
  return out, vim.v.shell_error
end

local function screen()
  return (tmux("capture-pane", "-p", "-t", "coco"))
end

local function wait_screen(text, what, timeout)
  T.wait_for(function()
    return screen():find(text, 1, true) ~= nil
  end, what or ("%q on screen"):format(text), timeout or E.TIMEOUT, function()
    return "--- screen ---\n" .. screen() .. "\n--- mock ---\n" .. mock.log():sub(-1500)
  end)
end

T.test("the approval popup in a real terminal: visible, answered with a key press", function()
  mock = E.start_mock("mock", SCRIPT)
  local home = E.codex_home("codex-home", mock.port)
  vim.fn.mkdir(project, "p")
  local opts = E.plugin_opts(home, { layout = "split" })
  E.write_file(E.work .. "/init.lua", table.concat({
    "vim.opt.runtimepath:prepend(" .. vim.inspect(plugin_dir) .. ")",
    "vim.o.swapfile = false",
    "require('coco').setup(" .. vim.inspect(opts) .. ")",
  }, "\n"))

  local _, code = tmux("new-session", "-d", "-s", "coco", "-x", "160", "-y", "48", "-c", project,
    "nvim -u " .. vim.fn.shellescape(E.work .. "/init.lua") .. " -i NONE -n")
  T.eq(code, 0, "tmux started")
  started = true
  -- Neovim is up when its empty-buffer tildes are drawn.
  wait_screen("~", "Neovim on screen", E.TIMEOUT)

  tmux("send-keys", "-t", "coco", ":CocoPrompt run in tmux", "Enter")
  wait_screen("[1] Allow once", "the approval popup")
  local shot = screen()
  E.write_file(E.work .. "/screen.txt", shot)
  T.out("--- the screen with the popup ---\n" .. shot .. "\n---")
  T.contains(shot, "Run `/bin/bash -lc 'echo tmux > tmux.txt'`?", "the title")
  T.contains(shot, "$ /bin/bash -lc 'echo tmux > tmux.txt'", "the command")
  T.contains(shot, "cwd: " .. project, "the working directory")
  T.contains(shot, "reason: Write tmux.txt in the project?", "the reason")
  for _, option in ipairs({ "[1] Allow once", "[2] Allow for this session", "] Deny", "] Deny and stop the turn" }) do
    T.contains(shot, option, "an option")
  end
  T.truthy(not E.exists(project .. "/tmux.txt"), "nothing ran before the answer")

  tmux("send-keys", "-t", "coco", "1")
  T.wait_for(function()
    return E.exists(project .. "/tmux.txt")
  end, "the allowed command to write tmux.txt", E.TIMEOUT, screen)
  wait_screen("The tmux command ran.", "the agent's answer in the transcript")
  T.not_contains(screen(), "[1] Allow once", "the popup is gone")
  T.eq(E.read_file(project .. "/tmux.txt"), "tmux\n")

  tmux("send-keys", "-t", "coco", ":qa!", "Enter")
  T.wait_for(function()
    local _, gone = tmux("has-session", "-t", "coco")
    return gone ~= 0
  end, "Neovim to exit (it stops the bridge on VimLeavePre)", E.TIMEOUT, screen)
end)

T.main(function()
  local failures = T.run()
  if started then
    tmux("kill-server")
  end
  if mock then
    mock.stop()
  end
  return failures
end)
