"""The execution-record contract and the secret scrubber, shared by the SDK and the store.

``contract`` says what an execution record is (the fields and their rules, as pydantic
models); ``layout`` its vocabulary and the action-row layout (no pydantic: what the store's
schema imports); ``scrub`` removes secrets from whatever is stored. The SDK
(``meta_agent.sdk``) writes records, the store (``meta_agent.store``) ingests and keeps them;
both depend on this package, and it imports neither (nor anything else of meta_agent's), so
the arrows run one way: sdk -> store -> records. Import the submodule you need: this
``__init__`` imports nothing, so importing the layout does not load the models.
"""
