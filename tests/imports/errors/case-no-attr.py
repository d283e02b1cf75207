import helper
print(helper.triple(3))
