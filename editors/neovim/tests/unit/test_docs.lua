-- The help file keeps up with the code: every command and option documented, tags current.
local T = require("testing")

local plugin_dir = vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":h:h:h")
local help = table.concat(vim.fn.readfile(plugin_dir .. "/doc/coco.txt"), "\n")

T.test("docs: every command has a help tag", function()
  require("coco.commands").create()
  local names = {}
  for name in pairs(vim.api.nvim_get_commands({})) do
    if name:match("^Coco") then
      names[#names + 1] = name
      T.contains(help, "*:" .. name .. "*", "help tag of :" .. name)
    end
  end
  T.truthy(#names >= 9, "the commands were created")
end)

T.test("docs: every option is in the help", function()
  local function walk(t, prefix)
    for key, value in pairs(t) do
      T.contains(help, key .. " =", "option " .. prefix .. key)
      if type(value) == "table" and not require("coco.compat").islist(value) then
        walk(value, prefix .. key .. ".")
      end
    end
  end
  walk(require("coco.config").defaults, "")
  -- Options whose default is nil are not in the defaults table.
  for _, key in ipairs({ "task_root", "config", "size" }) do
    T.contains(help, key .. " = nil", "option " .. key)
  end
end)

T.test("docs: doc/tags is what :helptags makes", function()
  local tmp = vim.fn.tempname()
  vim.fn.mkdir(tmp, "p")
  vim.fn.writefile(vim.fn.readfile(plugin_dir .. "/doc/coco.txt"), tmp .. "/coco.txt")
  vim.cmd("helptags " .. vim.fn.fnameescape(tmp))
  T.eq(vim.fn.readfile(plugin_dir .. "/doc/tags"), vim.fn.readfile(tmp .. "/tags"), "run :helptags editors/neovim/doc")
  vim.fn.delete(tmp, "rf")
end)
