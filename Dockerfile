# The kestra-fastly CLI built from this repository's own code, on a slim Node.js image, for Kestra
# script tasks and CommandsTrigger (containerImage: kestra-fastly, no beforeCommands). See docs/kestra.md.
#   docker build -t kestra-fastly .        # or --build-arg NODE=24-slim
# Both stages run scripts/install-from-source.sh, which test/install.test.ts runs without Docker.
ARG NODE=22-slim

# Stage 1: npm ci, npm run build, npm pack: the tarball a package registry would serve.
FROM node:${NODE} AS build
WORKDIR /src
COPY . .
RUN sh scripts/install-from-source.sh pack /pkg

# Stage 2: that tarball installed globally (its runtime dependencies only) on a clean image.
FROM node:${NODE}
COPY --from=build /pkg/ /pkg/
COPY scripts/install-from-source.sh /pkg/
RUN sh /pkg/install-from-source.sh install /pkg && rm -rf /pkg && npm cache clean --force
USER node
ENTRYPOINT []
