// The review page: connects to its namespace; the page's features are built on this connection.
import { connectStaff } from "./staff_socket.js";

const app = document.getElementById("review-app");
const status = document.getElementById("review-status");
connectStaff(app.dataset.namespace, status);
