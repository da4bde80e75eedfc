"""The local assistant: NLU (entities, intent, sentiment, purchase intent) and dialog policy.

Deterministic and offline. The OpenAI engine (an adapter) produces the same ``AssistantTurn``
and falls back to this one.
"""
