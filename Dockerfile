# Group Portal API: production image. Migrations run at container start, then uvicorn.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md alembic.ini ./
COPY api ./api
COPY db ./db
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --create-home --uid 10001 portal
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER portal
WORKDIR /home/portal
EXPOSE 8000
# PORTAL_DATABASE_URL (PostgreSQL), PORTAL_ENV=production, PORTAL_ISSUER, PORTAL_SECRET_KEY,
# PORTAL_SSN_HASH_KEY, PORTAL_BANK_DATA_KEY, PORTAL_JWT_PRIVATE_KEY and the SMTP relay (PORTAL_SMTP_*) come from
# the platform; production sends mail over SMTP (the outbox is development's). TLS ends at the
# load balancer, whose X-Forwarded-Proto is trusted: the container must be reachable only
# through it, or set FORWARDED_ALLOW_IPS to its address.
ENV PORTAL_ENV=production PORTAL_MAIL_MODE=smtp FORWARDED_ALLOW_IPS=*
CMD ["sh", "-c", "portal migrate && exec portal serve --host 0.0.0.0 --port 8000 --quiet --forwarded-allow-ips \"$FORWARDED_ALLOW_IPS\""]
