"""Answerers: retrieved clauses → a cited `Answer` (or None: not mine to answer).

`base` holds the `Answerer` protocol and the pieces every answerer shares;
`extractive` quotes the clauses (the offline default), `llm` asks a model and
`verify` checks what the model wrote. The assistant composes them in order.
"""
