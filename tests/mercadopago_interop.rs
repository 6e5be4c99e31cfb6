//! The official Mercado Pago Python SDK runs the card-on-file flow unchanged against the
//! sandbox (tests/interop/mercadopago_flow.py).

mod common;

#[tokio::test(flavor = "multi_thread")]
async fn the_python_sdk_runs_the_card_on_file_flow() {
    let sb = common::start().await;
    let url = sb.sandbox.url();
    tokio::task::spawn_blocking(move || {
        common::run_interop("mercadopago_flow.py", &url, "mercadopago")
    })
    .await
    .expect("interop script ran");
}
