-- Commands exist as soon as the plugin is on the runtimepath; nothing else loads (and no bridge
-- starts) until one of them runs. require('coco').setup(opts) is optional with the defaults.
if vim.g.loaded_coco then
  return
end
vim.g.loaded_coco = true
if vim.fn.has("nvim-0.7") ~= 1 then
  vim.notify("coco.nvim needs Neovim 0.7 or newer", vim.log.levels.ERROR)
  return
end
require("coco.commands").create()
