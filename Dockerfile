# One image for every fedchain service (hospital, miner, auditor, deployer, devnet).
# Debian bookworm's python3 is 3.11; node 20 runs the npm-shipped anvil and solcjs.
FROM node:20-bookworm-slim

ENV DEBIAN_FRONTEND=noninteractive \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python3-dev make ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Dependency layers first so code changes do not reinstall torch.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY pyproject.toml README.md Makefile ./
COPY node ./node
COPY miner ./miner
COPY hospital ./hospital
COPY diagnosis ./diagnosis
COPY contracts ./contracts
COPY scripts ./scripts
RUN make install PYTHON=python3 && rm -rf /root/.cache/pip

ENV PATH="/app/.venv/bin:/app/node_modules/.bin:${PATH}" \
    FEDCHAIN_HOME=/data
VOLUME ["/data"]
ENTRYPOINT ["fedchain"]
CMD ["--help"]
