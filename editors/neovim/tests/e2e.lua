-- End to end in headless Neovim: the plugin drives the real `coco bridge`, the real pinned codex
-- and `coco mock-model`. One Neovim, one bridge session; each scenario starts a new thread, so the
-- mock's `when` rules (which search the thread's whole conversation) route by the prompt.
local here = vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":h")
package.path = here .. "/lib/?.lua;" .. package.path
local T = require("testing")
local E = require("e2e")

-- yield_time_ms: codex waits for the command to end before it asks the model again. Without it,
-- a command slower than codex's default yield (about 10 s, seen on a loaded 2-core machine) is
-- reported "still running", the turn ends, and the file appears only later.
local SCRIPT = [[
steps:
  - when: "say hello"
    message: "Hello from the mock model, in several pieces."
    stream: true
    interval_ms: 5
  - when: "run allowed"
    exec: "echo allowed > allowed.txt"
    escalated: true
    args: { yield_time_ms: 120000 }
    justification: "Write allowed.txt in the project?"
  - when: "run allowed"
    message: "The allowed command ran."
  - when: "run denied"
    exec: "echo denied > denied.txt"
    escalated: true
    args: { yield_time_ms: 120000 }
  - when: "run denied"
    message: "Understood, I did not run it."
    repeat: true
  - when: "run elsewhere"
    exec: "echo elsewhere > elsewhere.txt"
    escalated: true
    args: { yield_time_ms: 120000 }
  - when: "run elsewhere"
    message: "Answered through the task directory."
  - when: "run gated"
    exec: "echo gated > gated.txt"
    escalated: true
    args: { yield_time_ms: 120000 }
  - when: "run gated"
    message: "Ran it after the second look."
  - when: "run selected"
    exec: "echo selected > selected.txt"
    escalated: true
    args: { yield_time_ms: 120000 }
  - when: "run selected"
    message: "Chosen in the picker."
  - when: "slow question"
    message: "You will not see this."
    delay_ms: 120000
  - when: "patch allowed"
    patch: |
      *** Begin Patch
      *** Add File: patched.txt
      +patched by codex
      *** End Patch
  - when: "patch allowed"
    message: "Patched."
  - when: "patch denied"
    patch: |
      *** Begin Patch
      *** Update File: existing.txt
      @@
      -old line
      +new line
      *** End Patch
  - when: "patch denied"
    message: "Left it alone."
  - when: "worker job"
    message: "The worker did its job."
  - when: "remember the password"
    message: "I will remember: swordfish."
  - when: "remember the password"
    message: "Continued after the restart: swordfish."
  - when: "after the restart"
    message: "A new thread: I know no password."
  - when: "after the stop"
    message: "Hello from a new task."
]]

local project = E.work .. "/project"
vim.fn.mkdir(project, "p")
vim.cmd("cd " .. vim.fn.fnameescape(project))

local mock, coco
local events = {} -- User events seen: name -> list of payloads

for _, name in ipairs({ "CocoTurnStarted", "CocoTurnCompleted", "CocoApprovalRequested", "CocoApprovalResolved" }) do
  events[name] = {}
  vim.api.nvim_create_autocmd("User", {
    pattern = name,
    callback = function(args)
      table.insert(events[name], args.data or require("coco").last_event.data)
    end,
  })
end

local function transcript()
  return table.concat(coco._state().view:lines(), "\n")
end

local function diagnostics()
  return "--- status: " .. coco.status() .. "\n--- transcript ---\n" .. transcript():sub(-3000) .. "\n--- log ---\n"
    .. table.concat(coco._state().session.log_lines, "\n"):sub(-4000) .. "\n--- mock ---\n" .. mock.log():sub(-2000)
end

local function wait_transcript(text, timeout)
  T.wait_for(function()
    return transcript():find(text, 1, true) ~= nil
  end, ("%q in the transcript"):format(text), timeout or E.TIMEOUT, diagnostics)
end

local function count(haystack, needle)
  local n, from = 0, 1
  while true do
    local s, e = haystack:find(needle, from, true)
    if not s then
      return n
    end
    n, from = n + 1, e + 1
  end
end

-- Waits for the approval popup and returns its window, buffer and text.
local function wait_popup(what)
  local win, buf
  T.wait_for(function()
    win, buf = E.approval_window()
    return win ~= nil
  end, "the approval popup" .. (what and (" for " .. what) or ""), E.TIMEOUT, diagnostics)
  return win, buf, E.buffer_text(buf)
end

-- The key of the option labelled `label`, read from the popup as a user would.
local function option_key(popup_text, label)
  for line in popup_text:gmatch("[^\n]+") do
    local key, text = line:match("^%[(%d)%] (.*)$")
    if text == label then
      return key
    end
  end
  error(("no option %q in the popup:\n%s"):format(label, popup_text))
end

-- A fresh thread for each scenario, sent the way a user would.
local function prompt(text)
  vim.cmd("CocoNewThread")
  vim.cmd("CocoPrompt " .. text)
end

local function turn_completed_count()
  return count(transcript(), "*Turn completed*")
end

T.test("commands exist before setup (plugin/coco.lua) and nothing runs yet", function()
  T.eq(vim.fn.exists(":CocoPrompt"), 2)
  T.eq(vim.fn.exists(":CocoExec"), 2)
  T.eq(vim.fn.exists(":CocoTasks"), 2)
  T.eq(require("coco").status(), "Coco: stopped")
end)

T.test("a prompt puts the agent's streamed answer in the transcript", function()
  mock = E.start_mock("mock", SCRIPT)
  local home = E.codex_home("codex-home", mock.port)
  coco = require("coco").setup(E.plugin_opts(home))
  -- Count how the answer reaches the buffer: streamed text must be appended piece by piece.
  local view = coco._state().view
  local apply, text_edits = view.apply, 0
  view.apply = function(self, edits)
    for _, e in ipairs(edits) do
      if e[1] == "text" then
        text_edits = text_edits + 1
      end
    end
    return apply(self, edits)
  end
  vim.cmd("CocoPrompt say hello")
  wait_transcript("Hello from the mock model, in several pieces.")
  wait_transcript("*Turn completed*")
  view.apply = apply
  local text = transcript()
  T.contains(text, "## You\nsay hello")
  T.eq(count(text, "Hello from the mock model"), 1, "the answer appears once")
  T.truthy(text_edits > 1, "the answer arrived in several appended pieces (" .. text_edits .. ")")
  T.truthy(view:visible(), "the transcript opened")
  T.eq(vim.bo[view.buf].filetype, "coco")
  T.eq(coco.status(), "Coco: idle")
end)

T.test("a command approval popup; its Allow once key runs the command", function()
  local done = turn_completed_count()
  local origin = vim.api.nvim_get_current_win()
  prompt("run allowed")
  local win, _, text = wait_popup("the command")
  T.contains(text, "$ /bin/bash -lc 'echo allowed > allowed.txt'")
  T.contains(text, "cwd: " .. project)
  T.contains(text, "reason: Write allowed.txt in the project?")
  T.contains(text, "[1] Allow once")
  T.eq(vim.api.nvim_get_current_win(), win, "the popup has focus")
  T.eq(coco.status(), "Coco: approval (1)")
  T.truthy(not E.exists(project .. "/allowed.txt"), "nothing ran before the answer")
  E.press(option_key(text, "Allow once"))
  T.eq(E.approval_window(), nil, "the popup closed at once")
  T.eq(vim.api.nvim_get_current_win(), origin, "focus went back")
  T.wait_for(function()
    return turn_completed_count() > done
  end, "the turn to complete", E.TIMEOUT, diagnostics)
  T.eq(E.read_file(project .. "/allowed.txt"), "allowed\n")
  wait_transcript("The allowed command ran.")
  T.contains(transcript(), "exit code 0 · completed")
  T.contains(transcript(), "(you)*")
end)

T.test("Deny (with feedback) does not run the command", function()
  local done = turn_completed_count()
  prompt("run denied")
  local _, _, text = wait_popup("the command")
  T.contains(text, "echo denied > denied.txt")
  E.press("f" .. option_key(text, "Deny") .. "not in this project<CR>")
  T.eq(E.approval_window(), nil, "the popup closed")
  T.wait_for(function()
    return turn_completed_count() > done
  end, "the turn to complete", E.TIMEOUT, diagnostics)
  wait_transcript("Understood, I did not run it.")
  T.truthy(not E.exists(project .. "/denied.txt"), "denied.txt was not written")
  T.contains(transcript(), "Deny — not in this project (you)")
  -- The bridge recorded the feedback with the decision.
  local task_dir = coco._state().session.task_dir
  local found = false
  for _, file in ipairs(vim.fn.glob(task_dir .. "/gates/g*.json", false, true)) do
    local gate = vim.json.decode(E.read_file(file))
    if gate.outcome and gate.outcome.feedback == "not in this project" and gate.outcome.optionId == "decline" then
      found = true
    end
  end
  T.truthy(found, "a gate file with the decline and the feedback")
end)

T.test("an approval answered elsewhere closes its popup", function()
  local done = turn_completed_count()
  local origin = vim.api.nvim_get_current_win()
  prompt("run elsewhere")
  wait_popup("the command")
  local gate = coco._state().approvals:list()[1]
  T.truthy(gate, "an open gate")
  -- Another client: the task-directory hand-off, as `coco gate answer` does it.
  local out = vim.fn.system({ E.coco_bin, "gate", "answer", coco._state().session.task_dir, gate.id, "accept" })
  T.eq(vim.v.shell_error, 0, "coco gate answer: " .. out)
  T.wait_for(function()
    return E.approval_window() == nil
  end, "the popup to close itself", E.TIMEOUT, diagnostics)
  T.eq(vim.api.nvim_get_current_win(), origin, "focus went back")
  T.wait_for(function()
    return turn_completed_count() > done
  end, "the turn to complete", E.TIMEOUT, diagnostics)
  T.contains(transcript(), "accept (directory)")
  T.eq(E.read_file(project .. "/elsewhere.txt"), "elsewhere\n")
  -- The bridge withdrew its request ($/cancelRequest) and took our -32800 as the acknowledgement:
  -- nothing reached it as a late answer.
  local events_file = E.read_file(coco._state().session.task_dir .. "/events.jsonl")
  T.contains(events_file, '"type":"gate.resolved"')
  T.not_contains(events_file, "gate.lateAnswer")
end)

-- Stands in for a picker plugin: records what vim.ui.select was given; choose(index) answers.
local function stub_select()
  local real = vim.ui.select
  local stub = {}
  vim.ui.select = function(items, opts, on_choice)
    stub.items, stub.opts, stub.on_choice = items, opts, on_choice
    stub.labels = vim.tbl_map(opts.format_item or tostring, items)
  end
  function stub.restore()
    vim.ui.select = real
  end
  function stub.choose(index)
    stub.restore()
    stub.on_choice(stub.items[index], index)
  end
  return stub
end

T.test("with the transcript hidden an approval is announced; q hides the popup, :CocoGates brings it back", function()
  local state = coco._state()
  local done = turn_completed_count()
  state.config.open_on_prompt = false
  state.view:close()
  T.eq(state.view:visible(), false)
  local notes, notify = {}, vim.notify
  vim.notify = function(msg)
    notes[#notes + 1] = msg
  end
  local ok, err = pcall(function()
    prompt("run gated")
    wait_popup("the command")
  end)
  vim.notify = notify
  state.config.open_on_prompt = true
  assert(ok, err)
  T.contains(table.concat(notes, "\n"), "Coco needs your approval: Run `/bin/bash -lc 'echo gated > gated.txt'`?")
  E.press("q")
  T.eq(E.approval_window(), nil, "q hid the popup")
  T.eq(coco.status(), "Coco: approval (1)", "the gate is still open")
  local picker = stub_select()
  vim.cmd("CocoGates")
  T.wait_for(function()
    return picker.on_choice ~= nil
  end, ":CocoGates to offer the gate", E.TIMEOUT, diagnostics)
  T.eq(#picker.labels, 1)
  T.contains(picker.labels[1], "Run `/bin/bash -lc 'echo gated > gated.txt'`?")
  picker.choose(1)
  local _, _, text = wait_popup("the same gate again")
  E.press(option_key(text, "Allow once"))
  T.wait_for(function()
    return turn_completed_count() > done
  end, "the turn to complete", E.TIMEOUT, diagnostics)
  T.eq(E.read_file(project .. "/gated.txt"), "gated\n")
end)

T.test("approvals through vim.ui.select when configured (picker plugins take over)", function()
  local state = coco._state()
  local done = turn_completed_count()
  state.config.approvals.ui = "select"
  local picker = stub_select()
  prompt("run selected")
  local ok, err = pcall(T.wait_for, function()
    return picker.on_choice ~= nil
  end, "vim.ui.select for the approval", E.TIMEOUT, diagnostics)
  state.config.approvals.ui = "float"
  if not ok then
    picker.restore()
    error(err)
  end
  T.eq(picker.opts.prompt, "Run `/bin/bash -lc 'echo selected > selected.txt'`?")
  T.eq(picker.labels[1], "Allow once")
  T.eq(picker.labels[#picker.labels], "Deny and stop the turn")
  T.eq(E.approval_window(), nil, "no floating window")
  picker.choose(1)
  T.wait_for(function()
    return turn_completed_count() > done
  end, "the turn to complete", E.TIMEOUT, diagnostics)
  T.eq(E.read_file(project .. "/selected.txt"), "selected\n")
  wait_transcript("Chosen in the picker.")
end)

T.test("a file-change approval shows the diff and writes when allowed", function()
  local done = turn_completed_count()
  prompt("patch allowed")
  local _, _, text = wait_popup("the file change")
  T.contains(text, "\npatched.txt (add)\n", "the path, relative to the working directory")
  T.contains(text, "+patched by codex")
  T.truthy(not E.exists(project .. "/patched.txt"), "not written before the answer")
  E.press(option_key(text, "Allow once"))
  T.wait_for(function()
    return turn_completed_count() > done
  end, "the turn to complete", E.TIMEOUT, diagnostics)
  T.eq(E.read_file(project .. "/patched.txt"), "patched by codex\n")
  T.contains(transcript(), "**File changes** (completed)")
end)

T.test("a denied file change is reviewed in a vimdiff and not written", function()
  E.write_file(project .. "/existing.txt", "old line\n")
  local done = turn_completed_count()
  prompt("patch denied")
  local popup, _, text = wait_popup("the file change")
  T.contains(text, "-old line")
  T.contains(text, "+new line")
  local tabs = #vim.api.nvim_list_tabpages()
  E.press("d")
  T.eq(#vim.api.nvim_list_tabpages(), tabs + 1, "a diff tab opened")
  local wins = vim.api.nvim_tabpage_list_wins(0)
  T.eq(#wins, 2)
  local left, right = vim.api.nvim_win_get_buf(wins[1]), vim.api.nvim_win_get_buf(wins[2])
  T.eq(vim.api.nvim_buf_get_name(left), project .. "/existing.txt", "the file on the left")
  T.eq(vim.api.nvim_buf_get_lines(left, 0, -1, false), { "old line" })
  T.eq(vim.api.nvim_buf_get_lines(right, 0, -1, false), { "new line" }, "the proposed content on the right")
  T.truthy(vim.wo[wins[1]].diff and vim.wo[wins[2]].diff, "both sides in diff mode")
  E.press("q")
  T.eq(#vim.api.nvim_list_tabpages(), tabs, "q closed the diff tab")
  T.eq(vim.api.nvim_get_current_win(), popup, "back in the popup")
  E.press(option_key(text, "Deny"))
  T.wait_for(function()
    return turn_completed_count() > done
  end, "the turn to complete", E.TIMEOUT, diagnostics)
  T.eq(E.read_file(project .. "/existing.txt"), "old line\n", "the file is unchanged")
  wait_transcript("Left it alone.")
end)

T.test("a visual selection goes with its file and lines; :CocoInterrupt stops the turn", function()
  E.write_file(project .. "/notes.txt", "first note\nsecond note\nthird\n")
  vim.cmd("edit " .. vim.fn.fnameescape(project .. "/notes.txt"))
  vim.cmd("CocoNewThread")
  vim.cmd("1,2CocoPrompt slow question about")
  wait_transcript("slow question about\n\nFrom `notes.txt`, lines 1-2:\n```\nfirst note\nsecond note\n```")
  local session = coco._state().session
  T.wait_for(function()
    return session.turn_id ~= nil and coco.status() == "Coco: working"
  end, "the turn to start", E.TIMEOUT, diagnostics)
  vim.cmd("CocoInterrupt")
  wait_transcript("*Turn interrupted*")
  T.not_contains(transcript(), "You will not see this.")
  T.eq(coco.status(), "Coco: idle")
  T.eq(vim.api.nvim_buf_get_name(0), project .. "/notes.txt", "the user's window kept focus")
end)

T.test("a worker started with :CocoExec completes, shown live", function()
  vim.cmd("CocoExec worker job")
  local worker
  T.wait_for(function()
    worker = next(coco._state().workers.workers) and coco._state().workers.workers[coco._state().workers.order[1]]
    return worker ~= nil
  end, "the worker to be spawned", E.TIMEOUT, diagnostics)
  T.truthy(worker.view:visible(), "the worker's buffer is shown")
  T.wait_for(function()
    return worker.status == "completed"
  end, "the worker to complete", E.TIMEOUT, function()
    return table.concat(worker.view:lines(), "\n") .. "\n" .. diagnostics()
  end)
  local text = table.concat(worker.view:lines(), "\n")
  T.contains(text, "*Turn started*")
  T.contains(text, "The worker did its job.")
  T.contains(text, "**Worker completed**: " .. worker.id)
  T.eq(coco.status(), "Coco: idle")
  -- tests/run points COCO_HOME at the scratch directory: the worker's CODEX_HOME is made there.
  local task_id = coco._state().session.info.taskId
  T.truthy(E.exists(os.getenv("COCO_HOME") .. "/codex-homes/" .. task_id .. "/" .. worker.id),
    "the worker's CODEX_HOME under the scratch COCO_HOME")
end)

T.test(":CocoTasks lists the task directories and opens one as a transcript read from disk", function()
  local picker = stub_select()
  vim.cmd("CocoTasks")
  T.wait_for(function()
    return picker.on_choice ~= nil
  end, ":CocoTasks to offer the tasks", E.TIMEOUT, diagnostics)
  local task_id = coco._state().session.info.taskId
  T.eq(#picker.labels, 1)
  T.contains(picker.labels[1], task_id)
  T.contains(picker.labels[1], "running")
  picker.choose(1)
  local buf
  T.wait_for(function()
    buf = vim.fn.bufnr("coco://task/" .. task_id)
    return buf > 0 and E.buffer_text(buf):find("say hello", 1, true) ~= nil
  end, "the task's transcript", E.TIMEOUT, diagnostics)
  local text = E.buffer_text(buf)
  T.contains(text, "Task " .. task_id)
  T.contains(text, "gate g1")
  T.eq(vim.api.nvim_get_current_buf(), buf, "the transcript is in front")
  vim.cmd("close")
end)

T.test(":CocoLog shows the plugin's log with the bridge's stderr", function()
  vim.cmd("CocoLog")
  local text = E.buffer_text(0)
  T.contains(text, "[info] starting: " .. E.coco_bin .. " bridge")
  T.contains(text, "[bridge] ")
  T.contains(text, "task directory: ")
  vim.cmd("close")
end)

T.test("the User events fired with their data", function()
  T.truthy(#events.CocoTurnStarted >= 6, "CocoTurnStarted for each turn")
  T.eq(#events.CocoTurnCompleted, #events.CocoTurnStarted, "as many completed as started")
  T.truthy(#events.CocoApprovalRequested >= 5, "CocoApprovalRequested for each gate")
  -- The bridge reports every resolution, our own answers too: still one event per gate.
  local resolved = {}
  for _, e in ipairs(events.CocoApprovalResolved) do
    resolved[e.gateId] = (resolved[e.gateId] or 0) + 1
  end
  for _, e in ipairs(events.CocoApprovalRequested) do
    T.eq(resolved[e.gateId], 1, "gate " .. tostring(e.gateId) .. " resolved once")
  end
  T.eq(#events.CocoApprovalResolved, #events.CocoApprovalRequested, "each gate resolved once")
  local statuses = {}
  for _, e in ipairs(events.CocoTurnCompleted) do
    statuses[e.status] = true
    T.truthy(e.turnId and e.threadId, "turn and thread ids in the data")
  end
  T.eq(statuses, { completed = true, interrupted = true })
  local by = {}
  for _, e in ipairs(events.CocoApprovalResolved) do
    by[e.by] = true
  end
  T.eq(by, { editor = true, directory = true })
  T.eq(events.CocoApprovalRequested[1].kind, "command")
end)

T.test(":checkhealth coco passes", function()
  vim.cmd("checkhealth coco")
  local text = E.buffer_text(vim.api.nvim_get_current_buf())
  vim.cmd("tabclose")
  T.contains(text, "OK: Neovim 0.")
  T.contains(text, "OK: bridge: coco ")
  T.contains(text, "OK: codex: codex-cli ")
  T.contains(text, "OK: task root writable: " .. E.work .. "/tasks")
  T.not_contains(text, "ERROR")
  T.not_contains(text, "WARNING")
end)

T.test("killing the bridge mid-session; the next prompt continues the same task and thread", function()
  prompt("remember the password")
  wait_transcript("I will remember: swordfish.")
  local session = coco._state().session
  T.wait_for(function()
    return session.turn_id == nil
  end, "the turn to end", E.TIMEOUT, diagnostics)
  local task_dir, task_id, thread_id, pid = session.task_dir, session.info.taskId, session.thread_id, session.proc.pid
  local uv = vim.uv or vim.loop
  uv.kill(pid, 9)
  T.wait_for(function()
    return coco.status() == "Coco: error"
  end, "the plugin to notice", E.TIMEOUT, diagnostics)
  wait_transcript("The bridge exited with code")
  vim.cmd("CocoPrompt after the restart")
  wait_transcript("Continued after the restart: swordfish.", E.TIMEOUT)
  T.not_contains(transcript(), "A new thread: I know no password.")
  T.eq(session.thread_id, thread_id, "the same thread")
  -- The new bridge (`coco bridge --task DIR`) says which task it writes: the same one.
  T.eq(session.task_dir, task_dir, "the same task directory")
  T.eq(session.info.taskId, task_id, "the same task id")
  T.not_contains(transcript(), "could not be continued")
  local seen = {}
  for line in E.read_file(task_dir .. "/events.jsonl"):gmatch("[^\n]+") do
    local type = vim.json.decode(line).type
    seen[type] = (seen[type] or 0) + 1
  end
  T.eq(seen["task.resumed"], 1, "the task directory records its continuation")
  T.eq(seen["client.connected"], 2, "two client.connected records in the task's events.jsonl")
end)

T.test(":CocoStop stops the bridge, which finishes the task directory", function()
  local session = coco._state().session
  local pid, task_dir = session.proc.pid, session.task_dir
  vim.cmd("CocoStop")
  T.eq(coco.status(), "Coco: stopped")
  -- :CocoStop waits a few seconds at most; a slow bridge finishes on its own after that.
  T.wait_for(function()
    return not E.exists("/proc/" .. pid .. "/stat")
  end, "the bridge process to end", E.TIMEOUT, diagnostics)
  local last = vim.split(vim.trim(E.read_file(task_dir .. "/events.jsonl")), "\n", { plain = true })
  T.eq(vim.json.decode(last[#last]).type, "task.completed")
end)

T.test("after :CocoStop the next prompt starts a new task; :CocoTasks lists it first", function()
  local session = coco._state().session
  local old_id = session.info.taskId
  vim.cmd("CocoPrompt after the stop")
  wait_transcript("Hello from a new task.")
  local new_id = session.info.taskId
  T.truthy(new_id ~= old_id, "a new task (" .. tostring(new_id) .. ")")
  local picker = stub_select()
  vim.cmd("CocoTasks")
  T.wait_for(function()
    return picker.on_choice ~= nil
  end, ":CocoTasks to offer the tasks", E.TIMEOUT, diagnostics)
  picker.restore()
  T.eq(#picker.labels, 2)
  T.contains(picker.labels[1], new_id, "the newest first")
  T.contains(picker.labels[1], "running")
  T.contains(picker.labels[2], old_id)
  T.contains(picker.labels[2], "completed")
end)

T.main(function()
  local failures = T.run()
  if coco then
    E.write_file(E.work .. "/transcript.md", transcript())
    E.write_file(E.work .. "/plugin.log", table.concat(coco._state().session.log_lines, "\n"))
    coco._state().session:stop()
  end
  if mock then
    mock.stop()
  end
  return failures
end)
