"""The prediction server (``modelward serve``): routing by deployment weights, input
checks, the prediction log, feedback, metrics; ``benchmark``'s load generator.
Verifying a running server from outside is :mod:`modelward.verification`.

Modules are imported where they are used (the server's dependencies stay out of
``modelward --help``): ``run`` builds and starts the app, ``app`` composes it on the HTTP
edge (:mod:`modelward.http`, which also owns the API tokens), ``routes`` is the prediction
API's route group and ``predict`` its hot path, ``state`` follows the deployments,
``models`` loads versions, ``validate`` checks inputs.
"""
