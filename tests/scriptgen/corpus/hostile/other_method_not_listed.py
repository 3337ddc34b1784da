"""other: a method that is not on the list (str.encode, str.zfill)."""


from meta_agent.tools import run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    x = "a".encode()
    y = "1".zfill(1000000000)
    return rows, None


run_script(run, steps=1)
