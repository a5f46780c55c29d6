/* The shop's marketing tag, started by the consent banner only once "marketing" is granted. */
(function () {
  window.shopMarketingLoaded = true;
  var pixel = new Image(1, 1);
  pixel.src = "/static/marketing-pixel.gif?page=" + encodeURIComponent(location.pathname);
}());
