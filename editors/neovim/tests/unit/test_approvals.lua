-- The approval popups in a real (headless) Neovim, without a bridge: keyed by gateId, answered
-- once, closed when resolved elsewhere, focus given back.
local T = require("testing")
local approvals = require("coco.approvals")
local config = require("coco.config")

local function floats()
  local out = {}
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= "" then
      out[#out + 1] = win
    end
  end
  return out
end

local function prompt(gate_id, title)
  return {
    gateId = gate_id,
    kind = "command",
    title = title,
    command = "make",
    options = {
      { id = "accept", label = "Allow once", kind = "allowOnce" },
      { id = "decline", label = "Deny", kind = "deny" },
    },
  }
end

local function new_approvals()
  local log = { closed = {} }
  local a = approvals.new(config.build({}), {
    transcript_visible = function()
      return true
    end,
    closed = function(gate)
      log.closed[#log.closed + 1] = gate.id
    end,
  })
  return a, log
end

local function press(keys)
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(keys, true, false, true), "mx", false)
end

T.test("popups: the same gateId asked again replaces its popup", function()
  local a = new_approvals()
  local origin = vim.api.nvim_get_current_win()
  local sent = {}
  a:ask(prompt("g1", "first"), function(id)
    sent[#sent + 1] = "first:" .. id
  end)
  a:ask(prompt("g1", "again"), function(id)
    sent[#sent + 1] = "again:" .. id
  end)
  T.eq(#floats(), 1, "one popup")
  T.eq(a:count(), 1)
  local buf = vim.api.nvim_win_get_buf(floats()[1])
  T.eq(vim.api.nvim_buf_get_lines(buf, 0, 1, false)[1], "again")
  T.eq(vim.bo[buf].filetype, "coco-approval")
  press("2")
  T.eq(sent, { "again:decline" }, "the new popup answers, once")
  T.eq(#floats(), 0)
  T.eq(vim.api.nvim_get_current_win(), origin, "focus went back")
  press("1")
  T.eq(sent, { "again:decline" }, "nothing more")
end)

T.test("popups: resolved elsewhere closes it; hidden popups come back; numbers beyond the options do nothing", function()
  local a, log = new_approvals()
  local sent = 0
  a:ask(prompt("g2", "two"), function()
    sent = sent + 1
  end)
  local gate = a.gates.g2
  T.truthy(gate)
  press("7")
  T.eq(sent, 0, "7 is not an option")
  press("q")
  T.eq(#floats(), 0, "q hides it")
  T.eq(a:count(), 1, "still open")
  a:show(gate)
  T.eq(#floats(), 1, "shown again")
  T.eq(a:resolved("g2"), nil, "not answered here")
  T.eq(#floats(), 0, "closed by the resolution")
  T.eq(a:count(), 0)
  T.eq(log.closed, { "g2" })
  T.eq(sent, 0, "no answer for a gate resolved elsewhere")
end)

T.test("popups: f then a digit answers with the typed feedback", function()
  local a = new_approvals()
  local got
  a:ask(prompt("g3", "three"), function(id, feedback)
    got = { id, feedback }
  end)
  press("f2use the Makefile target<CR>")
  T.eq(got, { "decline", "use the Makefile target" })
  local ours = a:resolved("g3")
  T.eq({ ours.option.id, ours.feedback }, { "decline", "use the Makefile target" }, "remembered for the report")
end)

T.test("popups: two gates stack; answering the top one returns to the other", function()
  local a = new_approvals()
  local origin = vim.api.nvim_get_current_win()
  a:ask(prompt("g4", "four"), function() end)
  local first = vim.api.nvim_get_current_win()
  a:ask(prompt("g5", "five"), function() end)
  T.eq(#floats(), 2)
  press("1")
  T.eq(vim.api.nvim_get_current_win(), first, "back in the first popup")
  press("1")
  T.eq(vim.api.nvim_get_current_win(), origin, "back where we started")
  T.eq(a:count(), 0)
end)

T.test("popups: our answer is remembered until the bridge reports the gate resolved, once", function()
  local a, log = new_approvals()
  local sent = {}
  a:ask(prompt("g6", "six"), function(id)
    sent[#sent + 1] = id
  end)
  press("1")
  T.eq(sent, { "accept" })
  T.eq(#floats(), 0, "closed at once")
  T.eq(a:resolved("g6").option.label, "Allow once", "the report of our own answer")
  T.eq(a:resolved("g6"), nil, "reported and forgotten")
  T.eq(log.closed, { "g6" }, "closed once")
  T.eq(a:choose("g6", 2), false, "no second answer")
  T.eq(sent, { "accept" })
  -- The bridge could not use an answer and asks again (same gateId): that answer no longer counts.
  a:ask(prompt("g7", "seven"), function() end)
  press("1")
  a:ask(prompt("g7", "seven again"), function() end)
  T.eq(a:resolved("g7"), nil, "resolved elsewhere this time")
  T.eq(#floats(), 0)
  T.eq(a:count(), 0)
end)
