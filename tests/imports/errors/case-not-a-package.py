import helper.sub
