-- The popup layout, the vimdiff view, configuration, the task list, worker events, prompts.
local T = require("testing")
local approvals = require("coco.approvals")
local diffview = require("coco.diffview")
local config = require("coco.config")
local tasks = require("coco.tasks")
local workers = require("coco.workers")
local commands = require("coco.commands")

local OPTIONS = {
  { id = "accept", label = "Allow once", kind = "allowOnce", isDefault = true },
  { id = "acceptForSession", label = "Allow for this session", kind = "allowSession" },
  { id = "decline", label = "Deny", kind = "deny" },
}

T.test("popup: a command shows command, cwd, reason, then the options in order", function()
  local lines, first_option = approvals.popup_lines({
    gateId = "g1",
    kind = "command",
    title = "Run `ls`?",
    command = "/bin/bash -lc 'ls'",
    cwd = "/p",
    reason = "look\naround",
    options = OPTIONS,
  })
  T.eq(lines, {
    "Run `ls`?",
    "",
    "$ /bin/bash -lc 'ls'",
    "cwd: /p",
    "reason: look around",
    "",
    "[1] Allow once",
    "[2] Allow for this session",
    "[3] Deny",
    "",
    "1-3 answer · f+digit answer with feedback · q later (:CocoGates)",
  })
  T.eq(first_option, 7)
end)

T.test("popup: a file change shows each path (relative to the cwd) and its diff", function()
  local lines = approvals.popup_lines({
    kind = "fileChange",
    title = "Apply changes?",
    changes = {
      { path = vim.fn.getcwd() .. "/a.txt", kind = "add", diff = "one\ntwo\n", newText = "one\ntwo\n" },
      { path = "/p/b.txt", kind = "update", diff = "--- a/b.txt\n+++ b/b.txt\n@@ -1 +1 @@\n-x\n+y\n" },
      { path = "/p/big.bin", kind = "update", diff = "--- a/big.bin\n+++ b/big.bin\n@@ -1 +1 @@\n-1\n+2\n",
        textsOmitted = true, omittedReason = "the file is larger than approvals.max_text_kib" },
    },
    options = OPTIONS,
  })
  T.eq(vim.list_slice(lines, 1, 19), {
    "Apply changes?",
    "",
    "a.txt (add)",
    "+one",
    "+two",
    "/p/b.txt (update)",
    "--- a/b.txt",
    "+++ b/b.txt",
    "@@ -1 +1 @@",
    "-x",
    "+y",
    "/p/big.bin (update)",
    "--- a/big.bin",
    "+++ b/big.bin",
    "@@ -1 +1 @@",
    "-1",
    "+2",
    "(no diff view: the file is larger than approvals.max_text_kib)",
    "",
  })
  T.contains(lines[#lines], "d diff view")
end)

T.test("popup: other kinds show the bridge's detail", function()
  local lines = approvals.popup_lines({
    kind = "permissions",
    title = "Grant network access?",
    detail = "**Codex asks for network access**\n\n- Reason: fetch\n",
    options = OPTIONS,
  })
  T.eq(vim.list_slice(lines, 1, 5), { "Grant network access?", "", "**Codex asks for network access**", "", "- Reason: fetch" })
end)

-- The diff tab for a change; returns its two buffers' names and lines, then closes it.
local function diff_tab(change)
  local tabs = #vim.api.nvim_list_tabpages()
  local closed = false
  local view = diffview.open(change, {
    on_close = function()
      closed = true
    end,
  })
  T.truthy(view, "a diff view")
  local wins = vim.api.nvim_tabpage_list_wins(0)
  T.eq(#wins, 2)
  local sides = {}
  for i, win in ipairs(wins) do
    local buf = vim.api.nvim_win_get_buf(win)
    T.truthy(vim.wo[win].diff, "diff mode")
    sides[i] = { name = vim.api.nvim_buf_get_name(buf), lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false) }
  end
  view.close()
  T.eq(#vim.api.nvim_list_tabpages(), tabs, "closed")
  T.truthy(closed, "on_close ran")
  return sides[1], sides[2]
end

T.test("diff: the file on disk against the bridge's newText; oldText when there is no file", function()
  local dir = vim.fn.tempname()
  vim.fn.mkdir(dir, "p")
  vim.fn.writefile({ "old 1", "old 2" }, dir .. "/f.txt")
  local left, right = diff_tab({ path = dir .. "/f.txt", kind = "update", oldText = "old 1\nold 2\n",
    newText = "old 1\nnew 2\n\n", diff = "ignored" })
  T.eq(left, { name = dir .. "/f.txt", lines = { "old 1", "old 2" } }, "the real file on the left")
  T.eq(right.lines, { "old 1", "new 2", "" }, "newText on the right, its empty last line kept")
  T.contains(right.name, "coco://proposed/")

  left, right = diff_tab({ path = dir .. "/new.txt", kind = "add", newText = "hi there\n" })
  T.eq(left.lines, { "" }, "an add: nothing on the left")
  T.eq(right.lines, { "hi there" })
  left, right = diff_tab({ path = dir .. "/gone.txt", kind = "delete", oldText = "gone\n" })
  T.eq(left.lines, { "gone" }, "a file no longer on disk: its oldText")
  T.eq(right.lines, { "" }, "a delete: nothing on the right")
  left, right = diff_tab({ path = dir .. "/f.txt", kind = "update", movePath = dir .. "/g.txt", oldText = "old 1\nold 2\n",
    newText = "old 1\nold 2\n" })
  T.contains(right.name, "coco://proposed/" .. vim.fn.fnamemodify(dir .. "/g.txt", ":~:."), "named after where it moves")

  local notes, notify = {}, vim.notify
  vim.notify = function(msg)
    notes[#notes + 1] = msg
  end
  local view = diffview.open({ path = dir .. "/f.txt", kind = "update", diff = "x", textsOmitted = true,
    omittedReason = "the file on disk no longer matches the change" })
  vim.notify = notify
  T.eq(view, nil, "no diff view without the texts")
  T.eq(notes, { "Coco: no diff view for this change: the file on disk no longer matches the change" })
  vim.fn.delete(dir, "rf")
end)

T.test("config: defaults merged, lists replaced, bad values refused", function()
  local c = config.build({ cmd = { "/x/coco" }, approvals = { ui = "select" }, keymaps = { approval = { hide = { "q" } } } })
  T.eq(c.cmd, { "/x/coco" }, "a list replaces the default")
  T.eq(c.approvals.ui, "select")
  T.eq(c.approvals.border, "rounded", "the rest of the table keeps its defaults")
  T.eq(c.keymaps.approval.hide, { "q" })
  T.eq(c.keymaps.approval.diff, "d")
  T.eq(config.build().cmd, { "coco", "bridge" })
  T.eq(config.build().cmd, config.defaults.cmd, "defaults are not modified by a build")
  T.truthy(not pcall(config.build, { layout = "sideways" }), "a bad layout is refused")
  T.truthy(not pcall(config.build, { cmd = {} }), "an empty cmd is refused")
  T.eq(config.cli_prefix(config.build({ cmd = { "env", "X=1", "coco", "bridge", "--codex", "c" } })), { "env", "X=1", "coco" })
  T.eq(config.codex_from_cmd(config.build({ cmd = { "coco", "bridge", "--codex", "/c" } })), "/c")
end)

T.test("workers: codex exec events become transcript lines", function()
  T.eq(workers.event_lines({ type = "item.completed", item = { type = "agent_message", text = "done\nok" } }), { "## Codex", "done", "ok", "" })
  T.eq(workers.event_lines({
    type = "item.completed",
    item = { type = "command_execution", command = "ls", aggregated_output = "a\n", exit_code = 0, status = "completed" },
  }), { "```console", "$ ls", "a", "```", "exit code 0 · completed", "" })
  T.eq(workers.event_lines({ type = "turn.failed", error = { message = "boom" } }), { "**Turn failed**: boom", "" })
  T.eq(workers.event_lines({ malformed = "garbage" }), { "(unreadable output) garbage" })
  T.eq(workers.event_lines({ type = "thread.started" }), {})
  T.eq(workers.completed_lines({ agentId = "w1", status = "completed", durationMs = 1500, final = { todos = {} } }),
    { "**Worker completed**: w1 in 1.5 s", "Final answer:", '{"todos":[]}', "" })
end)

T.test("prompt: a selection comes with its file and lines", function()
  local buf = vim.api.nvim_create_buf(true, false)
  vim.api.nvim_buf_set_name(buf, vim.fn.getcwd() .. "/src/thing.lua")
  vim.bo[buf].filetype = "lua"
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, { "local a = 1", "local b = 2", "return a + b" })
  T.eq(commands.selection_prompt("Explain", buf, 2, 3), table.concat({
    "Explain",
    "",
    "From `src/thing.lua`, lines 2-3:",
    "```lua",
    "local b = 2",
    "return a + b",
    "```",
  }, "\n"))
  T.eq(commands.selection_prompt("", buf, 1, 1):sub(1, 30), "From `src/thing.lua`, line 1:\n")
  vim.api.nvim_buf_delete(buf, { force = true })
end)

T.test("tasks: a coco that cannot list the tasks says why", function()
  local function list(cmd)
    local got
    tasks.list(config.build({ cmd = cmd, task_root = "/nonexistent/tasks" }), function(t, err)
      got = { t, err }
    end)
    T.wait_for(function()
      return got ~= nil
    end, "the task list", 10000)
    return got[1], got[2]
  end
  local t, err = list({ "/nonexistent/coco", "bridge" })
  T.eq(t, nil)
  T.contains(err, "/nonexistent/coco task ls --json --task-root /nonexistent/tasks` failed (exit code -1)")
  t, err = list({ "sh", "-c", "echo not json", "bridge" })
  T.eq(t, nil)
  T.contains(err, "printed no JSON list")
end)
