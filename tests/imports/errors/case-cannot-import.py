from helper import double, nothere
