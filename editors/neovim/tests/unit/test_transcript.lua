-- The transcript reducer: events in, buffer edits out; and those edits applied to a real buffer.
local T = require("testing")
local transcript = require("coco.transcript")
local View = require("coco.view")

local function ev(method, params)
  return { method = method, params = params }
end

-- Applies edits to a list of lines the way View does (the reference for the reducer's output).
local function render(events)
  local r = transcript.new()
  local lines, empty = { "" }, true
  local all = {}
  for _, e in ipairs(events) do
    for _, edit in ipairs(r:apply(e)) do
      all[#all + 1] = edit
      if edit[1] == "lines" then
        if empty then
          lines = {}
        end
        vim.list_extend(lines, edit[2])
      else
        local pieces = vim.split(edit[2], "\n", { plain = true })
        lines[#lines] = lines[#lines] .. pieces[1]
        for i = 2, #pieces do
          lines[#lines + 1] = pieces[i]
        end
      end
      empty = false
    end
  end
  return table.concat(lines, "\n"), all
end

local function agent(id, text)
  return { type = "agentMessage", id = id, text = text }
end

T.test("reducer: streamed deltas are appended, one text edit each, shown once", function()
  local text, edits = render({
    ev("coco.prompt", { text = "say hello" }),
    ev("item/started", { item = agent("m1", "") }),
    ev("item/agentMessage/delta", { itemId = "m1", delta = "Hello " }),
    ev("item/agentMessage/delta", { itemId = "m1", delta = "there,\nfriend" }),
    ev("item/completed", { item = agent("m1", "Hello there,\nfriend") }),
    ev("turn/completed", { turn = { id = "t", status = "completed" } }),
  })
  T.eq(text, "## You\nsay hello\n\n## Codex\nHello there,\nfriend\n\n*Turn completed*\n")
  local text_edits = vim.tbl_filter(function(e)
    return e[1] == "text"
  end, edits)
  T.eq(#text_edits, 2, "one edit per delta, nothing re-rendered")
end)

T.test("reducer: a message that arrives complete is shown (no started, no deltas)", function()
  local text = render({ ev("item/completed", { item = agent("m2", "All at once.") }) })
  T.eq(text, "## Codex\nAll at once.\n")
end)

T.test("reducer: text in item/started and again in item/completed is shown once", function()
  local text = render({
    ev("item/started", { item = agent("m3", "Created.") }),
    ev("item/completed", { item = agent("m3", "Created.") }),
  })
  T.eq(text, "## Codex\nCreated.\n")
end)

T.test("reducer: the rest of a message missing from its deltas is added at completion", function()
  local text = render({
    ev("item/agentMessage/delta", { itemId = "m4", delta = "Part one" }),
    ev("item/completed", { item = agent("m4", "Part one, part two.") }),
  })
  T.eq(text, "## Codex\nPart one, part two.\n")
end)

T.test("reducer: commands with their output and exit code", function()
  local text = render({
    ev("item/started", { item = { type = "commandExecution", id = "c1", command = "ls -l" } }),
    ev("item/commandExecution/outputDelta", { itemId = "c1", delta = "a.txt\n" }),
    ev("item/commandExecution/outputDelta", { itemId = "c1", delta = "b.txt\n" }),
    ev("item/completed", { item = { type = "commandExecution", id = "c1", command = "ls -l", status = "completed", exitCode = 0 } }),
    ev("item/completed", {
      item = { type = "commandExecution", id = "c2", command = "false", status = "failed", exitCode = 1, aggregatedOutput = "nope" },
    }),
  })
  T.eq(text, table.concat({
    "Running `ls -l`",
    "",
    "```console",
    "$ ls -l",
    "a.txt",
    "b.txt",
    "```",
    "exit code 0 · completed",
    "",
    "```console",
    "$ false",
    "nope",
    "```",
    "exit code 1 · failed",
    "",
  }, "\n"))
end)

T.test("reducer: file changes with their diffs (codex's add diff is the content)", function()
  local text = render({
    ev("item/completed", {
      item = {
        type = "fileChange",
        id = "p1",
        status = "completed",
        changes = {
          { path = "/p/new.txt", kind = { type = "add" }, diff = "hi there\n" },
          { path = "/p/old.txt", kind = { type = "update" }, diff = "@@ -1 +1 @@\n-a\n+b\n" },
        },
      },
    }),
  })
  T.eq(text, table.concat({
    "**File changes** (completed)",
    "- `/p/new.txt` (add)",
    "```diff",
    "+hi there",
    "```",
    "- `/p/old.txt` (update)",
    "```diff",
    "@@ -1 +1 @@",
    "-a",
    "+b",
    "```",
    "",
  }, "\n"))
end)

T.test("reducer: errors, warnings, failed turns, approvals", function()
  local text = render({
    ev("error", { error = { message = "stream disconnected" }, willRetry = true }),
    ev("warning", { message = "careful" }),
    ev("coco.gate", { title = "Run `x`?", gateId = "g1" }),
    ev("coco.gateResolved", { gateId = "g1", choice = "Deny", by = "timeout" }),
    ev("turn/completed", { turn = { status = "failed", error = { message = "quota" } } }),
    ev("coco.error", { text = "The bridge exited with code 1", detail = "last\nwords" }),
  })
  T.eq(text, table.concat({
    "**Error** (retrying): stream disconnected",
    "",
    "*Warning*: careful",
    "",
    "**Approval needed**: Run `x`?",
    "",
    "*Approval g1: Deny (timeout)*",
    "",
    "*Turn failed*: quota",
    "",
    "**Error**: The bridge exited with code 1",
    "```",
    "last",
    "words",
    "```",
    "",
  }, "\n"))
end)

T.test("reducer: a block in the middle of a stream closes it; later deltas open a new one", function()
  local text = render({
    ev("item/agentMessage/delta", { itemId = "m5", delta = "before" }),
    ev("item/started", { item = { type = "commandExecution", id = "c3", command = "x" } }),
    ev("item/agentMessage/delta", { itemId = "m5", delta = " after" }),
  })
  T.eq(text, "## Codex\nbefore\n\nRunning `x`\n\n## Codex\n after")
end)

T.test("reducer: unknown events change nothing", function()
  local r = transcript.new()
  T.eq(r:apply(ev("thread/tokenUsage/updated", { x = 1 })), {})
  T.eq(r:apply(ev("item/completed", { item = { type = "userMessage" } })), {})
end)

T.test("view: edits land in a real buffer; a window at the end follows", function()
  local view = View.new({ name = "coco://unit-transcript", filetype = "coco", config = { layout = "split" } })
  local r = transcript.new()
  local win = view:open(false)
  T.eq(vim.api.nvim_get_current_win() ~= win, true, "focus stayed")
  for _, e in ipairs({
    ev("coco.prompt", { text = "q" }),
    ev("item/agentMessage/delta", { itemId = "m", delta = "a" }),
    ev("item/agentMessage/delta", { itemId = "m", delta = "b\nc" }),
  }) do
    view:apply(r:apply(e))
  end
  T.eq(view:lines(), { "## You", "q", "", "## Codex", "ab", "c" })
  T.eq(vim.api.nvim_win_get_cursor(win)[1], 6, "the window follows the text")
  T.eq(vim.bo[view.buf].modifiable, false, "read-only for the user")
  T.eq(vim.bo[view.buf].filetype, "coco")
  vim.api.nvim_win_close(win, true)
end)
