"""policytest"""
