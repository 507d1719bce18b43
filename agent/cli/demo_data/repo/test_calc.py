from calc import add, subtract

assert add(2, 3) == 5
assert subtract(5, 3) == 2, f"subtract(5, 3) returned {subtract(5, 3)}"
print("all tests passed")
