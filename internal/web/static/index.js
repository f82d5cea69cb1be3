// Shows the widget snippet with this node's own address.
const code = document.getElementById('snippet');
if (code) {
  code.textContent = `<script src="${location.origin}/widget/widget.js" data-service="customer-support" async></script>`;
}
