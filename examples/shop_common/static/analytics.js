/* The shop's analytics tag, started by the consent banner only once "analytics" is granted. */
(function () {
  window.shopAnalyticsLoaded = true;
  var pixel = new Image(1, 1);
  pixel.src = "/static/analytics-pixel.gif?page=" + encodeURIComponent(location.pathname);
}());
