# Node.js 22 with the kestra-fastly CLI, for Kestra script tasks and CommandsTrigger
# (containerImage: kestra-fastly, no beforeCommands). See docs/kestra.md.
#   docker build -t kestra-fastly .        # or --build-arg NODE=24-slim
ARG NODE=22-slim
FROM node:${NODE}
ARG VERSION=latest
RUN npm install --global --no-audit --no-fund "kestra-plugin-fastly@${VERSION}" && npm cache clean --force
USER node
ENTRYPOINT []
