class Context(dict):
    pass
def get_current():
    return Context()
def attach(ctx):
    return None
def detach(token):
    return None
