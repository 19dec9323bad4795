" The Coco transcript: markdown, plus a few marks of its own.
if exists('b:current_syntax')
  finish
endif
runtime! syntax/markdown.vim
unlet! b:current_syntax

syntax match cocoSpeaker /^## \(You\|Codex\)$/
syntax match cocoRunning /^Running `.*`$/
syntax match cocoExit /^exit code \d\+ · .*$/
syntax match cocoError /^\*\*Error\*\*.*$/
syntax match cocoApproval /^\*\*Approval needed\*\*.*$/

highlight default link cocoSpeaker Title
highlight default link cocoRunning Special
highlight default link cocoExit Comment
highlight default link cocoError ErrorMsg
highlight default link cocoApproval WarningMsg

let b:current_syntax = 'coco'
