"""What every app shares and no app owns: the REST API's plumbing (pagination, query parameters,
permissions, schema helpers) and the constants several apps' models agree on.

Nothing here knows about generations, billing or the demo.
"""
