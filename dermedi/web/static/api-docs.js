// Starts Swagger UI (from the swagger-ui-bundle package, served by dermedi) on the OpenAPI document.
window.addEventListener("load", function () {
  // eslint-disable-next-line no-undef
  SwaggerUIBundle({ url: "/api/openapi.json", dom_id: "#swagger-ui" });
});
