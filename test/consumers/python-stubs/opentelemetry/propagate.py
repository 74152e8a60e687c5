def extract(carrier):
    return None
def inject(carrier, context=None):
    return None
