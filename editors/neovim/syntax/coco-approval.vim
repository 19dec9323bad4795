" The approval popup: a title, the command or the diff, then one line per option.
if exists('b:current_syntax')
  finish
endif

syntax match cocoApprovalTitle /\%1l.*/
syntax match cocoApprovalCommand /^\$ .*$/
syntax match cocoApprovalField /^\(cwd\|reason\):/
syntax match cocoApprovalAdded /^+.*$/
syntax match cocoApprovalRemoved /^-.*$/
syntax match cocoApprovalHunk /^@@.*@@/
syntax match cocoApprovalKey /^\[\d\]/
syntax match cocoApprovalHelp /^\d-\d answer · .*$/

highlight default link cocoApprovalTitle Title
highlight default link cocoApprovalCommand Statement
highlight default link cocoApprovalField Label
highlight default link cocoApprovalAdded DiffAdd
highlight default link cocoApprovalRemoved DiffDelete
highlight default link cocoApprovalHunk DiffChange
highlight default link cocoApprovalKey Special
highlight default link cocoApprovalHelp Comment

let b:current_syntax = 'coco-approval'
