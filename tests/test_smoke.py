def test_login_page_is_chinese(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert "登录" in response.get_data(as_text=True) or "Log in" in response.get_data(as_text=True)


def test_officer_logs_in_and_sees_dashboard(client, make_user):
    make_user("officer")
    client.login("officer")
    response = client.get("/")
    assert response.status_code == 200
