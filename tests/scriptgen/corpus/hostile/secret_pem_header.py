"""secrets: a PEM private key block."""


from meta_agent.tools import log, run_script, step


def run(params, result):
    step(1, "read the properties")
    rows = []
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1234"
    log("%s", pem)
    return rows, None


run_script(run, steps=1)
