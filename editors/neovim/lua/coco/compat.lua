-- Names that newer Neovim versions changed: use the new one where present (0.7 has the old).
local M = {}

M.uv = vim.uv or vim.loop -- vim.uv since 0.10
M.islist = vim.islist or vim.tbl_islist -- vim.islist since 0.10; tbl_islist deprecated

return M
