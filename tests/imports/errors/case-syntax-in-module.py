import syntax_bad
