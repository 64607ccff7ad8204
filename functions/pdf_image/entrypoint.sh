#!/bin/sh
# Starts the Python runtime interface client. Lambda sets AWS_LAMBDA_RUNTIME_API; under a plain `docker run`
# it is unset, and the runtime interface emulator of the base image stands in for Lambda on port 8080.
if [ -z "${AWS_LAMBDA_RUNTIME_API}" ]; then
  exec /usr/local/bin/aws-lambda-rie /usr/bin/python3.11 -m awslambdaric "$@"
fi
exec /usr/bin/python3.11 -m awslambdaric "$@"
