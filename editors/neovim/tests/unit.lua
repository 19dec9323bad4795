-- Pure-Lua unit tests (no bridge): framing, message routing, the transcript reducer, the popup
-- layout, diffs, configuration. Each file under unit/ registers its cases.
local here = vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":h")
package.path = here .. "/lib/?.lua;" .. package.path
local T = require("testing")

T.main(function()
  for _, file in ipairs(vim.fn.glob(here .. "/unit/test_*.lua", false, true)) do
    dofile(file)
  end
  return T.run()
end)
