f = open("out.txt", "w")
