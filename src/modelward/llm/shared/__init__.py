"""The LLM gateway's state shared by its replicas through Redis: the month's spend
(budgets), the response cache, and the link's health (:mod:`.link`). Without a Redis URL
(``gateway.redis_url`` in llm.yml, or ``MODELWARD_REDIS_URL``) each gateway process keeps
its own, as before; ``redis`` is imported only when one is configured."""

from modelward.llm.shared.url import ENV, check_url, resolve_url, shown

__all__ = ["ENV", "check_url", "resolve_url", "shown"]
