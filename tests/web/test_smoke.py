def test_home_page_welcomes_visitors_in_english(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"How the program works" in response.data
