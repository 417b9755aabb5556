"""The prediction server (``modelward serve``): routing by deployment weights, input
checks, the prediction log, feedback, metrics, tokens; ``benchmark``'s load generator.
Verifying a running server from outside is :mod:`modelward.verification`.

Modules are imported where they are used (the server's dependencies stay out of
``modelward --help``): ``run`` builds and starts the app, ``app`` is the ASGI
application, ``state`` follows the deployments, ``models`` loads versions, ``validate``
checks inputs, ``tokens`` manages API tokens.
"""
