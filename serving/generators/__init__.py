"""Answer generators: vLLM over HTTP (`vllm`) and the model-free extractive backend."""
